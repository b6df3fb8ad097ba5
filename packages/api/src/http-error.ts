import { STATUS_CODES } from 'node:http';
import {
  type ErrorCode,
  type ErrorReason,
  type FieldError,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type TrpcErrorData,
} from '@touch-crm/contract';
import { type DomainError, domainErrorOf, retryAfterSecondsOf, ValidationError } from '@touch-crm/services';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { z } from 'zod';
import type { Context } from './context.ts';

/** A failure of the HTTP edge itself (timeout, body limit, unknown route …), before any procedure runs. */
export class EdgeError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly reason?: ErrorReason;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
    reason?: ErrorReason,
  ) {
    super(message);
    this.name = 'EdgeError';
    this.status = status;
    this.code = code;
    this.headers = headers;
    this.reason = reason;
  }
}

/** A failure as every transport answers it: the problem (without `instance`, the request path), its status and headers. */
export interface HttpError {
  status: number;
  problem: Omit<Problem, 'instance'>;
  headers: Record<string, string>;
}

const STATUS: Record<DomainError['kind'], number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

const fieldError = (issue: { path: PropertyKey[]; message: string; code?: string }): FieldError => ({
  path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
  message: issue.message,
  code: issue.code ?? 'custom',
});

function problem(
  status: number,
  code: ErrorCode,
  detail: string,
  requestId: string | undefined,
  extra: { reason?: ErrorReason; errors?: FieldError[]; details?: Record<string, unknown> } = {},
): HttpError['problem'] {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    ...(extra.reason ? { reason: extra.reason } : {}),
    requestId: requestId ?? '',
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...(extra.details ? { details: extra.details } : {}),
  };
}

/**
 * The one mapping from anything thrown (a domain error, a tRPC error, an edge failure, an
 * unknown error) to a status, the error body and headers such as Retry-After. Unknown errors
 * are an opaque 500: never their message, a stack or SQL.
 */
export function toHttpError(error: unknown, requestId: string | undefined): HttpError {
  if (error instanceof EdgeError)
    return {
      status: error.status,
      problem: problem(error.status, error.code, error.message, requestId, { reason: error.reason }),
      headers: error.headers,
    };
  const cause = error instanceof TRPCError ? error.cause : error;
  // An output that failed its schema is the server's fault (tRPC says INTERNAL_SERVER_ERROR): a 500 below.
  const inputFailed = !(error instanceof TRPCError) || error.code === 'BAD_REQUEST';
  if (cause instanceof z.core.$ZodError && inputFailed) {
    // Input that failed its zod schema, in a procedure or a plain route alike.
    return {
      status: 400,
      problem: problem(400, 'BAD_REQUEST', 'Input validation failed', requestId, {
        errors: cause.issues.map(fieldError),
      }),
      headers: {},
    };
  }
  const domain = domainErrorOf(cause);
  if (domain) {
    const status = STATUS[domain.kind];
    const errors = domain instanceof ValidationError ? domain.issues.map(fieldError) : undefined;
    const retryAfter = retryAfterSecondsOf(domain);
    return {
      status,
      problem: problem(status, domain.kind, domain.message, requestId, {
        reason: domain.reason,
        errors,
        details: domain.details,
      }),
      headers: retryAfter ? { 'Retry-After': String(retryAfter) } : {},
    };
  }
  if (error instanceof TRPCError && error.code !== 'INTERNAL_SERVER_ERROR') {
    const status = getHTTPStatusCodeFromError(error);
    return { status, problem: problem(status, error.code, error.message, requestId), headers: {} };
  }
  return {
    status: 500,
    problem: problem(500, 'INTERNAL_SERVER_ERROR', 'Internal server error', requestId),
    headers: {},
  };
}

/** toHttpError, logging what the caller could not have caused (a 500) with its cause; `ctx.log` carries the request id. */
export function handleError(error: unknown, ctx: Pick<Context, 'requestId' | 'log'>): HttpError {
  const http = toHttpError(error, ctx.requestId);
  if (http.status === 500)
    ctx.log.error({ err: error instanceof TRPCError ? (error.cause ?? error) : error }, 'unhandled error');
  return http;
}

/** The error as a problem details response; `instance` is the request's path. */
export function errorResponse(error: HttpError, instance: string): Response {
  return new Response(JSON.stringify(problemBody(error, instance)), {
    status: error.status,
    headers: { ...error.headers, 'content-type': PROBLEM_CONTENT_TYPE },
  });
}

/** The problem details body of the error, as a REST response carries it. */
export const problemBody = (error: HttpError, instance: string): Problem => ({ ...error.problem, instance });

/** The `data` of a tRPC error: the problem's code, reason, request id, failing fields and details. */
export function trpcErrorData({ status, problem }: HttpError): TrpcErrorData {
  return {
    code: problem.code,
    ...(problem.reason ? { reason: problem.reason } : {}),
    httpStatus: status,
    requestId: problem.requestId || undefined,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...(problem.details ? { details: problem.details } : {}),
  };
}

/** The edge's own codes that are no tRPC code, as the JSON-RPC number of the tRPC code of their status. */
const JSON_RPC_FALLBACK: Partial<Record<ErrorCode, keyof typeof TRPC_ERROR_CODES_BY_KEY>> = {
  IDEMPOTENCY_KEY_IN_USE: 'CONFLICT',
  IDEMPOTENCY_KEY_REUSED: 'UNPROCESSABLE_CONTENT',
};

/** tRPC's error envelope for the failure: `message` is the problem's detail, `data` the problem's fields. */
export function trpcErrorShape(http: HttpError) {
  const code = http.problem.code;
  const key =
    code in TRPC_ERROR_CODES_BY_KEY ? (code as keyof typeof TRPC_ERROR_CODES_BY_KEY) : JSON_RPC_FALLBACK[code];
  return {
    message: http.problem.detail,
    code: TRPC_ERROR_CODES_BY_KEY[key ?? 'INTERNAL_SERVER_ERROR'],
    data: trpcErrorData(http),
  };
}

/** The tRPC endpoint: failures of the edge under it are answered in tRPC's envelope, not as a problem. */
export const TRPC_ENDPOINT = '/trpc';

const isTrpcPath = (path: string) => path === TRPC_ENDPOINT || path.startsWith(`${TRPC_ENDPOINT}/`);

/**
 * The failure as the transport of `path` answers it: tRPC's envelope under /trpc (one error for
 * the whole request, as tRPC answers a batch it refuses whole), a problem details body elsewhere.
 */
export function errorAnswer(error: HttpError, path: string): Response {
  if (!isTrpcPath(path)) return errorResponse(error, path);
  return new Response(JSON.stringify({ error: trpcErrorShape(error) }), {
    status: error.status,
    headers: { ...error.headers, 'content-type': 'application/json' },
  });
}
