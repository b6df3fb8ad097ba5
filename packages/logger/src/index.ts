import pino, { type DestinationStream, type Logger } from 'pino';

/** Keys whose values never reach a log line, at any of the first three levels of a logged object. */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'password_hash',
  'hash',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'keyHash',
];
export const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/**
 * A server error from postgres.js (`constraint_name` …, plus the query and its parameters, never
 * logged) or from node-postgres under pg-boss (`constraint` …).
 */
interface DatabaseError extends Error {
  code: string;
  severity?: string;
  constraint_name?: string;
  table_name?: string;
  column_name?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

const isDatabaseError = (error: Error): error is DatabaseError =>
  typeof (error as Partial<DatabaseError>).code === 'string' &&
  /^[0-9A-Z]{5}$/.test((error as DatabaseError).code) &&
  typeof (error as Partial<DatabaseError>).severity === 'string';

/** Drizzle's and postgres.js's errors carry the statement and its values (a new secret, a hash). */
const carriesQuery = (error: Error) => 'query' in error || 'params' in error || 'parameters' in error;

/** A server message with quoted parts (values, names) elided: `invalid input syntax for type uuid: "…"`. */
const shortMessage = (message: string) => message.replace(/"[^"]*"/g, '"…"').slice(0, 200);

/** Stack frames only: the first lines of a stack repeat the message. */
const framesOf = (error: Error) =>
  (error.stack ?? '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .join('\n');

/**
 * An error as logged. A chain holding a database error is logged as that error's SQLSTATE,
 * constraint, table and column, its message with quoted values elided, and the stack frames;
 * nothing else, as the other messages and properties repeat the statement and its parameters.
 * Other errors keep type, message and code down their causes, unless one carries a statement.
 */
export function errorForLog(error: unknown): Record<string, unknown> {
  const chain: Error[] = [];
  for (let link: unknown = error; link instanceof Error && chain.length < 8; link = link.cause) chain.push(link);
  const [top] = chain;
  if (!top) return { type: typeof error };
  const database = chain.find(isDatabaseError);
  if (database)
    return {
      type: 'DatabaseError',
      sqlstate: database.code,
      constraint: database.constraint_name ?? database.constraint,
      table: database.table_name ?? database.table,
      column: database.column_name ?? database.column,
      message: shortMessage(database.message),
      stack: framesOf(top),
    };
  const withQuery = chain.some(carriesQuery);
  const [first, ...causes] = chain.map((link) => {
    const code = (link as { code?: unknown }).code;
    return {
      type: link.name,
      ...(withQuery ? {} : { message: link.message }),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  });
  return { ...first, stack: framesOf(top), ...(causes.length > 0 ? { causes } : {}) };
}

/**
 * The JSON logger of every process (API, worker, CLIs). Request bodies are never logged; secrets
 * under the usual keys are redacted; errors go through errorForLog, so a failed statement never
 * writes its parameters.
 */
export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      name,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: errorForLog },
    },
    destination,
  );
}

export type { Logger };
