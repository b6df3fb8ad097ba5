import postgresDate from 'postgres-date';

/** postgres-date is CommonJS typed as an ES default export; under Node's ESM the default import is the function itself. */
const parsePostgresDate = postgresDate as unknown as (text: string) => Date | number | null;

/**
 * A timestamptz as PostgreSQL writes it (`YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`, JSON with a
 * `T`; a year past 9999 has more digits, ` BC` may follow), as a Date. `new Date` reads this text,
 * which is not ISO 8601, with V8's legacy parser: years 0–99 become 1950–2049, and an offset with
 * seconds (the local mean time PostgreSQL gives old dates outside UTC) is refused. postgres-date
 * (node-postgres's parser) reads it by position; `infinity` is an invalid Date, as drizzle gave.
 */
export function parseTimestamptz(text: string): Date {
  const parsed = parsePostgresDate(text.includes('T') ? text.replace('T', ' ') : text);
  return parsed instanceof Date ? parsed : new Date(Number.NaN);
}
