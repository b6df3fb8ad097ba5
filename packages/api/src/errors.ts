import { domainErrorOf } from '@touch-crm/services';
import { TRPCError } from '@trpc/server';

/**
 * A domain error (or a database that cannot be reached) as the tRPC error of its kind, so the
 * tRPC status and a caller's `error.code` match; the domain error stays the cause, for toHttpError.
 */
export function toTRPCError(error: TRPCError): TRPCError {
  const cause = domainErrorOf(error.cause);
  return cause ? new TRPCError({ code: cause.kind, message: cause.message, cause }) : error;
}
