import { type DomainError, domainErrorOf, retryAfterSecondsOf, ValidationError } from '@touch-crm/services';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { z } from 'zod';
import type { Context } from './context.ts';

/** A failure of the HTTP edge itself (timeout, body limit, unknown route …), before any procedure runs. */
export class EdgeError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'EdgeError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface FieldIssueShape {
  path: (string | number)[];
  message: string;
  code: string;
}

/** The one error body of every transport (tRPC wraps it in its envelope, with a numeric `code`). */
export interface ErrorBody {
  message: string;
  code: string;
  data: {
    code: string;
    httpStatus: number;
    requestId?: string;
    issues?: FieldIssueShape[];
    details?: Record<string, unknown>;
  };
  /** Failing fields, at the top level as the REST mirror has always sent them. */
  issues?: unknown[];
}

export interface HttpError {
  status: number;
  body: ErrorBody;
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

const issueShape = (issue: { path: PropertyKey[]; message: string; code?: string }): FieldIssueShape => ({
  path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
  message: issue.message,
  code: issue.code ?? 'custom',
});

function body(
  status: number,
  code: string,
  message: string,
  requestId: string | undefined,
  extra: { issues?: FieldIssueShape[]; rawIssues?: unknown[]; details?: Record<string, unknown> } = {},
): ErrorBody {
  return {
    message,
    code,
    data: {
      code,
      httpStatus: status,
      requestId,
      ...(extra.issues ? { issues: extra.issues } : {}),
      ...(extra.details ? { details: extra.details } : {}),
    },
    ...(extra.issues ? { issues: extra.rawIssues ?? extra.issues } : {}),
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
      body: body(error.status, error.code, error.message, requestId),
      headers: error.headers,
    };
  const cause = error instanceof TRPCError ? error.cause : error;
  if (cause instanceof z.core.$ZodError) {
    // Input that failed its zod schema, in a procedure or a plain route alike.
    const issues = cause.issues.map(issueShape);
    return {
      status: 400,
      body: body(400, 'BAD_REQUEST', 'Input validation failed', requestId, { issues, rawIssues: cause.issues }),
      headers: {},
    };
  }
  const domain = domainErrorOf(cause);
  if (domain) {
    const status = STATUS[domain.kind];
    const issues = domain instanceof ValidationError ? domain.issues.map(issueShape) : undefined;
    const retryAfter = retryAfterSecondsOf(domain);
    return {
      status,
      body: body(status, domain.kind, domain.message, requestId, { issues, details: domain.details }),
      headers: retryAfter ? { 'Retry-After': String(retryAfter) } : {},
    };
  }
  if (error instanceof TRPCError && error.code !== 'INTERNAL_SERVER_ERROR') {
    const status = getHTTPStatusCodeFromError(error);
    return { status, body: body(status, error.code, error.message, requestId), headers: {} };
  }
  return { status: 500, body: body(500, 'INTERNAL_SERVER_ERROR', 'Internal server error', requestId), headers: {} };
}

/** toHttpError, logging what the caller could not have caused (a 500) with its cause; `ctx.log` carries the request id. */
export function handleError(error: unknown, ctx: Pick<Context, 'requestId' | 'log'>): HttpError {
  const http = toHttpError(error, ctx.requestId);
  if (http.status === 500)
    ctx.log.error({ err: error instanceof TRPCError ? (error.cause ?? error) : error }, 'unhandled error');
  return http;
}

/** The error as a JSON response. */
export function errorResponse(error: HttpError): Response {
  return Response.json(error.body, { status: error.status, headers: error.headers });
}
