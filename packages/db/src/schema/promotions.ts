import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, money, timestamps, timestamptz } from './columns.ts';
import { customerLevels } from './customers.ts';
import { discountType, promotionCondition } from './enums.ts';

export const promotions = pgTable(
  'promotions',
  {
    id: id(),
    name: text().notNull(),
    code: text().unique(),
    description: text(),
    discountType: discountType().notNull(),
    /** Percent (1–100) for PERCENTAGE, minor units for FIXED_AMOUNT. */
    discountValue: money().notNull(),
    conditionType: promotionCondition().notNull(),
    minPurchaseAmount: money(),
    customerLevelId: uuid().references(() => customerLevels.id),
    startsAt: timestamptz(),
    endsAt: timestamptz(),
    validityDays: integer(),
    isActive: boolean().notNull().default(true),
    createdById: uuid().references(() => users.id),
    ...timestamps,
  },
  (t) => [
    index('promotions_updated_id_idx').on(t.updatedAt, t.id),
    index('promotions_condition_active_idx').on(t.conditionType, t.isActive),
    index('promotions_customer_level_idx').on(t.customerLevelId),
    check('promotions_discount_value_positive', sql`${t.discountValue} > 0`),
    check(
      'promotions_percentage_range',
      sql`${t.discountType} <> 'PERCENTAGE' or ${t.discountValue} between 1 and 100`,
    ),
    check('promotions_min_purchase_nonnegative', sql`${t.minPurchaseAmount} is null or ${t.minPurchaseAmount} >= 0`),
    check('promotions_validity_days_positive', sql`${t.validityDays} is null or ${t.validityDays} > 0`),
    check('promotions_dates_ordered', sql`${t.startsAt} is null or ${t.endsAt} is null or ${t.endsAt} > ${t.startsAt}`),
  ],
);
