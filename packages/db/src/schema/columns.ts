import { sql } from 'drizzle-orm';
import { bigint, customType, uuid } from 'drizzle-orm/pg-core';
import { parseTimestamptz } from '../timestamptz.ts';

/** Opaque identifiers: random UUIDs, so ids reveal neither count nor order. */
export const id = () => uuid().primaryKey().defaultRandom();

/** Money is an integer count of minor units (cents), exact up to 2^53. */
export const money = () => bigint({ mode: 'number' });

/**
 * drizzle's `timestamp({ mode: 'date' })` hands PostgreSQL's text to `new Date`, which reads years
 * 0001–0099 as 1950–2049; this column reads every year the API takes (0001–9999) as written.
 */
export const timestamptz = customType<{ data: Date; driverData: string }>({
  dataType: () => 'timestamp with time zone',
  toDriver: (value) => value.toISOString(),
  fromDriver: (value) => (typeof value === 'string' ? parseTimestamptz(value) : value),
});

/** The default of a timestamptz set when the row is written (a custom column has no `defaultNow`). */
export const now = sql`now()`;

export const timestamps = {
  createdAt: timestamptz().notNull().default(now),
  updatedAt: timestamptz()
    .notNull()
    .default(now)
    .$onUpdate(() => new Date()),
};
