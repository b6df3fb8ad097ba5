import { DomainError, domainErrorOf, retryAfterSecondsOf, ValidationError } from '@touch-crm/services';
import { TRPCError } from '@trpc/server';

/**
 * One mapping from domain errors (and a database that cannot be reached) to tRPC errors;
 * anything unknown stays an opaque 500.
 */
export function toTRPCError(error: TRPCError): TRPCError {
  const cause = domainErrorOf(error.cause);
  if (cause instanceof ValidationError) {
    // Shaped like tRPC's own input errors, so both transports report `issues` the same way.
    const issues = cause.issues.map((issue) => ({ code: 'custom', path: issue.path, message: issue.message }));
    return new TRPCError({
      code: 'BAD_REQUEST',
      message: cause.message,
      cause: Object.assign(new Error(cause.message), { name: 'ZodError', issues }),
    });
  }
  if (cause) return new TRPCError({ code: cause.kind, message: cause.message, cause });
  return error;
}

export interface FieldIssueShape {
  path: (string | number)[];
  message: string;
  code: string;
}

function issuesOf(cause: unknown): FieldIssueShape[] | undefined {
  if (!(cause instanceof Error) || !Array.isArray((cause as { issues?: unknown }).issues)) return undefined;
  return (cause as unknown as { issues: { path?: PropertyKey[]; message: string; code?: string }[] }).issues.map(
    (issue) => ({
      path: (issue.path ?? []).map((part) => (typeof part === 'number' ? part : String(part))),
      message: issue.message,
      code: issue.code ?? 'custom',
    }),
  );
}

export function retryAfterOf(error: TRPCError): number | undefined {
  return error.cause instanceof DomainError ? retryAfterSecondsOf(error.cause) : undefined;
}

/**
 * The error body for both transports: a safe message, the code, the failing fields and a
 * request id. Never a stack trace, SQL text or an internal message.
 */
export function formatError(
  shape: { code: number; data: { code: string; httpStatus: number } },
  error: TRPCError,
  requestId: string | undefined,
) {
  const issues = issuesOf(error.cause);
  const internal = error.code === 'INTERNAL_SERVER_ERROR';
  const message = issues ? 'Input validation failed' : internal ? 'Internal server error' : error.message;
  const details = error.cause instanceof DomainError ? error.cause.details : undefined;
  return {
    message,
    code: shape.code,
    data: {
      code: shape.data.code,
      httpStatus: shape.data.httpStatus,
      requestId,
      ...(issues ? { issues } : {}),
      ...(details ? { details } : {}),
    },
  };
}
