import { bigint, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Opaque identifiers: random UUIDs, so ids reveal neither count nor order. */
export const id = () => uuid().primaryKey().defaultRandom();

/** Money is an integer count of minor units (cents), exact up to 2^53. */
export const money = () => bigint({ mode: 'number' });

export const timestamptz = () => timestamp({ withTimezone: true, mode: 'date' });

export const timestamps = {
  createdAt: timestamptz().notNull().defaultNow(),
  updatedAt: timestamptz()
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date()),
};
