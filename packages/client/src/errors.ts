import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from './app-router.ts';

/**
 * Our error codes: tRPC's names, the same as the REST mirror's problem `code`. Written out (the
 * published package depends on nothing of ours); test/error-types.test.ts proves they equal
 * packages/contract's problem schema.
 */
export type TouchErrorCode =
  | 'PARSE_ERROR'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'PAYMENT_REQUIRED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_SUPPORTED'
  | 'TIMEOUT'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNPROCESSABLE_CONTENT'
  | 'PRECONDITION_REQUIRED'
  | 'TOO_MANY_REQUESTS'
  | 'CLIENT_CLOSED_REQUEST'
  | 'INTERNAL_SERVER_ERROR'
  | 'NOT_IMPLEMENTED'
  | 'BAD_GATEWAY'
  | 'SERVICE_UNAVAILABLE'
  | 'GATEWAY_TIMEOUT'
  | 'IDEMPOTENCY_KEY_IN_USE'
  | 'IDEMPOTENCY_KEY_REUSED';

/**
 * Which cause of its status an error was, where a status has several (two 409s, two 403s): switch
 * on it, never on the message. The same list as packages/contract's ERROR_REASONS (proved by
 * test/client.test.ts); an operation's possible reasons are listed under its statuses in
 * /openapi.json.
 */
export type TouchErrorReason =
  | 'PERMISSION_DENIED'
  | 'PASSWORD_CHANGE_REQUIRED'
  | 'API_KEY_NOT_ALLOWED'
  | 'API_KEY_PERMISSIONS_EXCEED_CREATOR'
  | 'LAST_ADMIN'
  | 'USERNAME_TAKEN'
  | 'EMAIL_TAKEN'
  | 'PHONE_TAKEN'
  | 'SKU_TAKEN'
  | 'PROMOTION_CODE_TAKEN'
  | 'LEVEL_NAME_TAKEN'
  | 'PROMOTION_NOT_ASSIGNED'
  | 'PROMOTION_ALREADY_REDEEMED'
  | 'PROMOTION_UNAVAILABLE'
  | 'ORDER_ALREADY_CANCELLED'
  | 'TASK_TRANSITION_NOT_ALLOWED'
  | 'TASK_SERIES_SLOT_TAKEN'
  | 'CAMPAIGN_NOT_EDITABLE'
  | 'CAMPAIGN_NOT_CANCELLABLE'
  | 'CAMPAIGN_CANCELLED'
  | 'SMS_CONSENT_WITHDRAWN'
  | 'PHONE_UNDELIVERABLE'
  | 'WEBHOOK_DELIVERY_PENDING'
  | 'WEBHOOK_INACTIVE'
  | 'DEMO_DATA_REFUSED'
  | 'DEMO_DATA_PRESENT'
  | 'LOGIN_THROTTLED'
  | 'RATE_LIMITED'
  | 'EXPORTS_BUSY'
  | 'DATABASE_UNAVAILABLE';

/** A failing field of an input that did not validate; `code` is the validator's issue code (`invalid_type`, `too_small`, `custom` …). */
export interface TouchFieldIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/**
 * The `data` of an error the server answered with, as `trpcErrorData` in
 * packages/api/src/http-error.ts builds it: the REST problem's `code`, `requestId`, `errors` and
 * `details`, with tRPC's `httpStatus`. Written out here because the router's inferred error
 * shape is tRPC's default one (the formatter's `code` is typed `number`, which tRPC does not
 * take as an error shape), so it would not know them.
 */
export interface TouchErrorData<C extends TouchErrorCode = TouchErrorCode> {
  code: C;
  /** Which cause of the status it was, e.g. `PHONE_TAKEN` or `LAST_ADMIN` for a CONFLICT. */
  reason?: TouchErrorReason;
  httpStatus: number;
  requestId?: string;
  /** The failing fields, when the input did not validate. */
  errors?: TouchFieldIssue[];
  /** Safe extra facts, e.g. what a CONFLICT conflicted with. */
  details?: Record<string, unknown>;
}

/** The problem details body (RFC 9457) of a REST error response, `application/problem+json`. */
export interface TouchProblem<C extends TouchErrorCode = TouchErrorCode> {
  type: 'about:blank';
  /** The HTTP status phrase. */
  title: string;
  status: number;
  detail: string;
  /** The request path. */
  instance: string;
  code: C;
  reason?: TouchErrorReason;
  requestId: string;
  errors?: TouchFieldIssue[];
  details?: Record<string, unknown>;
}

/** Whether a parsed REST response body is a problem details body, optionally with the given code. */
export function isTouchProblem<C extends TouchErrorCode = TouchErrorCode>(
  body: unknown,
  code?: C,
): body is TouchProblem<C> {
  if (typeof body !== 'object' || body === null) return false;
  const problem = body as Partial<TouchProblem>;
  if (typeof problem.status !== 'number' || typeof problem.code !== 'string') return false;
  return code === undefined || problem.code === code;
}

/** What a call throws when the server answers with an error. */
export type TouchClientError<C extends TouchErrorCode = TouchErrorCode> = TRPCClientError<AppRouter> & {
  data: TouchErrorData<C>;
};

/**
 * Whether `error` is an error the server answered with, optionally with the given code:
 * `if (isTouchError(err, 'CONFLICT') && err.data.reason === 'PHONE_TAKEN') …`. A network failure is a
 * `TRPCClientError` without `data`, so it is never a Touch error.
 */
export function isTouchError<C extends TouchErrorCode = TouchErrorCode>(
  error: unknown,
  code?: C,
): error is TouchClientError<C> {
  if (!(error instanceof TRPCClientError)) return false;
  const data: unknown = error.data;
  if (typeof data !== 'object' || data === null || !('code' in data) || typeof data.code !== 'string') return false;
  return code === undefined || data.code === code;
}
