import { DrizzleQueryError } from 'drizzle-orm';

/** postgres.js and Node socket codes for a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** SQLSTATEs of a server shutting down (57P01, 57P02) or still starting (57P03). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03']);

/**
 * Whether an error from the database client (as postgres.js throws it, or wrapped by drizzle)
 * means the database cannot be reached right now, rather than that the query was wrong.
 * Class 08 is SQL's "connection exception". Only the driver's own error is looked at, so a
 * refused outbound HTTP call (whose code sits in a fetch error's cause) is not mistaken for it.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const driverError = error instanceof DrizzleQueryError ? error.cause : error;
  const code = (driverError as { code?: unknown } | null | undefined)?.code;
  return (
    typeof code === 'string' &&
    (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))
  );
}
