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
 * Whether an error (or any error in its `cause` chain: drizzle wraps the driver's error)
 * means the database cannot be reached right now, rather than that the query was wrong.
 * Class 08 is SQL's "connection exception".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
