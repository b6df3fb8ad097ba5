import { type SQL, sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  check,
  date,
  index,
  integer,
  pgTable,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, money, timestamps, timestamptz } from './columns.ts';
import { customerStatus, gender } from './enums.ts';

export const customerLevels = pgTable(
  'customer_levels',
  {
    id: id(),
    name: text().notNull().unique(),
    /** Order of the levels, lowest first. */
    rank: smallint().notNull().unique(),
    /** Lowest RFM score (3–15) that reaches this level. */
    minRfmScore: smallint().notNull(),
    description: text(),
    ...timestamps,
  },
  (t) => [check('customer_levels_min_rfm_score_range', sql`${t.minRfmScore} between 0 and 15`)],
);

export const customers = pgTable(
  'customers',
  {
    id: id(),
    firstName: text().notNull(),
    lastName: text().notNull(),
    /** E.164. */
    phone: text().notNull(),
    email: text(),
    birthday: date({ mode: 'string' }),
    gender: gender(),
    address: text(),
    notes: text(),
    timeZone: text(),
    status: customerStatus().notNull().default('LEAD'),
    /**
     * A level set by hand (`customers:set_level`): a floor the RFM job may raise the customer
     * above but never drops them below, until it is cleared by setting the level to null.
     */
    manualLevelId: uuid().references(() => customerLevels.id),
    ownerId: uuid()
      .notNull()
      .references(() => users.id),
    referredById: uuid().references((): AnyPgColumn => customers.id),
    smsOptIn: boolean().notNull().default(true),
    /**
     * Set when the carrier said this phone cannot receive SMS (invalid, landline, unreachable):
     * marketing skips the customer until the phone changes, which clears it.
     */
    phoneUndeliverableAt: timestamptz(),
    phoneUndeliverableReason: text(),
    orderCount: integer().notNull().default(0),
    totalSpent: money().notNull().default(0),
    lastOrderAt: timestamptz(),
    /** Set once when the welcome message is queued, so a customer is welcomed once ever. */
    welcomedAt: timestamptz(),
    deletedAt: timestamptz(),
    /** Lower-cased name, phone and email, indexed with trigrams for `search`. */
    searchText: text().generatedAlwaysAs(
      (): SQL =>
        sql`lower(${customers.firstName} || ' ' || ${customers.lastName} || ' ' || ${customers.phone} || ' ' || coalesce(${customers.email}, ''))`,
    ),
    ...timestamps,
  },
  (t) => [
    index('customers_updated_id_idx').on(t.updatedAt, t.id),
    uniqueIndex('customers_live_phone_key').on(t.phone).where(sql`${t.deletedAt} is null`),
    index('customers_owner_idx').on(t.ownerId),
    index('customers_status_idx').on(t.status),
    index('customers_referred_by_idx').on(t.referredById),
    index('customers_created_at_idx').on(t.createdAt),
    index('customers_last_order_at_idx').on(t.lastOrderAt),
    index('customers_total_spent_idx').on(t.totalSpent),
    index('customers_last_name_idx').on(t.lastName),
    index('customers_birthday_md_idx').on(sql`extract(month from ${t.birthday})`, sql`extract(day from ${t.birthday})`),
    // The RFM daily run reads the few customers with a manual level, or deleted, out of a million.
    index('customers_manual_level_idx').on(t.id, t.manualLevelId).where(sql`${t.manualLevelId} is not null`),
    index('customers_deleted_idx').on(t.id).where(sql`${t.deletedAt} is not null`),
    index('customers_search_trgm_idx').using('gin', t.searchText.op('gin_trgm_ops')),
    check('customers_total_spent_nonnegative', sql`${t.totalSpent} >= 0`),
    check('customers_order_count_nonnegative', sql`${t.orderCount} >= 0`),
  ],
);

/**
 * The time zone names this PostgreSQL server knows (`pg_timezone_names`, filled by migration 0019
 * and topped up after every migration run): a customer's zone must be one of them, since the campaign, message
 * and quiet-hours statements read it. Kept as a table because `pg_timezone_names` reads the
 * server's whole zone directory on each query (about 12 ms).
 */
export const timeZoneNames = pgTable('time_zone_names', { name: text().primaryKey() }, (t) => [
  uniqueIndex('time_zone_names_lower_key').on(sql`lower(${t.name})`),
]);
