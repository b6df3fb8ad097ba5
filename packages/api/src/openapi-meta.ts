import { STATUS_CODES } from 'node:http';
import { type ErrorReason, REASON } from '@touch-crm/contract';
import type { Meta } from './trpc.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Every protected operation takes a sign-in JWT or an API key (as a bearer token, or in X-Api-Key). */
export const PROTECTED_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { apiKeyAuth: [] }];

/** An error status an operation documents, with the `reason`s it may carry (none: the status says it all). */
export type ErrorReasons = Partial<Record<number, readonly ErrorReason[]>>;

/**
 * Who may call: `public` (login), `signed-in` (any active user, even one who must still change the
 * default password: no 403), `authed` (any active user; 403 only until the password is changed),
 * `permission` (the procedure's permission: 403 without it). Decides 401 and the 403 reasons.
 */
export type Access = 'public' | 'signed-in' | 'authed' | 'permission';

export interface RestOptions {
  /** What the operation does, who may call it and what is notable: the document's `description`. */
  description: string;
  access?: Access;
  successStatus?: number;
  /**
   * The refusals of this operation beyond those of every operation, by status, with their reasons:
   * `{ 409: [REASON.PHONE_TAKEN] }`, `{ 404: [] }` for an id in the body; merged into the defaults.
   */
  errors?: ErrorReasons;
  /** The answer carries a one-time secret or a credential: never stored for an `Idempotency-Key` replay. */
  secretResponse?: true;
}

/** What a secret-carrying operation's description adds (docs/api-conventions.md, "Idempotent writes"). */
const SECRET_RESPONSE_NOTE =
  'Its answer carries a secret, which is never stored: `Idempotency-Key` is ignored, and a retry runs it again.';

const FORBIDDEN_REASONS: Record<Access, readonly ErrorReason[] | undefined> = {
  public: undefined,
  'signed-in': undefined,
  authed: [REASON.PASSWORD_CHANGE_REQUIRED],
  permission: [REASON.PERMISSION_DENIED, REASON.PASSWORD_CHANGE_REQUIRED],
};

/**
 * The error statuses an operation can answer (openapi-problems adds 500, and 413 and 415 to one
 * taking a body; edge/openapi 409 and 422 to a protected POST, for Idempotency-Key): invalid
 * input, the rate limit and a database outage anywhere; 401 and 403 by access; 404 for an
 * operation on one record (a path parameter); the rest as the operation says.
 */
export function errorReasonsOf(path: string, access: Access, errors: ErrorReasons = {}): ErrorReasons {
  const reasons: ErrorReasons = {
    400: [],
    429: [REASON.RATE_LIMITED],
    503: [REASON.DATABASE_UNAVAILABLE],
  };
  if (access !== 'public') reasons[401] = [];
  const forbidden = FORBIDDEN_REASONS[access];
  if (forbidden) reasons[403] = forbidden;
  if (path.includes('{')) reasons[404] = [];
  for (const [status, extra = []] of Object.entries(errors))
    reasons[Number(status)] = [...new Set([...(reasons[Number(status)] ?? []), ...extra])];
  return reasons;
}

/** A plain route's error statuses as its `responses`, described by openapi-problems unless `own` words are given. */
export const errorResponsesOf = (reasons: ErrorReasons, own: Partial<Record<number, string>> = {}) =>
  Object.fromEntries(Object.keys(reasons).map((status) => [status, { description: own[Number(status)] ?? '' }]));

/** The REST mirror's route for a procedure: its tag, summary, description and the errors it can answer. */
export function rest(method: Method, path: `/${string}`, tag: string, summary: string, options: RestOptions): Meta {
  const access = options.access ?? 'permission';
  const errorReasons = errorReasonsOf(path, access, options.errors);
  return {
    openapi: {
      method,
      path,
      tags: [tag],
      summary,
      description: options.secretResponse ? `${options.description} ${SECRET_RESPONSE_NOTE}` : options.description,
      protect: access !== 'public',
      // No descriptions: openapi-problems documents each status as its problem response, with its reasons.
      errorResponses: Object.fromEntries(Object.keys(errorReasons).map((status) => [status, ''])),
      ...(options.successStatus ? { successDescription: STATUS_CODES[options.successStatus] } : {}),
    },
    errorReasons,
    ...(options.successStatus ? { successStatus: options.successStatus } : {}),
    ...(options.secretResponse ? { secretResponse: true } : {}),
  };
}
