import { sql } from 'drizzle-orm';
import { type AnyPgColumn, boolean, check, index, integer, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, money, timestamps, timestamptz } from './columns.ts';
import { orders } from './commerce.ts';
import { customerLevels, customers } from './customers.ts';
import { customerPromotionStatus, discountType, promotionCondition } from './enums.ts';

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

export const customerPromotions = pgTable(
  'customer_promotions',
  {
    id: id(),
    customerId: uuid()
      .notNull()
      .references(() => customers.id),
    promotionId: uuid()
      .notNull()
      .references(() => promotions.id),
    status: customerPromotionStatus().notNull().default('ACTIVE'),
    /** Why it was assigned: the promotion's condition, CAMPAIGN or MANUAL. */
    source: text().notNull(),
    sourceOrderId: uuid().references((): AnyPgColumn => orders.id),
    assignedById: uuid().references(() => users.id),
    assignedAt: timestamptz().notNull().defaultNow(),
    expiresAt: timestamptz(),
    redeemedAt: timestamptz(),
    redeemedOrderId: uuid().references((): AnyPgColumn => orders.id),
    ...timestamps,
  },
  (t) => [
    unique('customer_promotions_once_per_customer').on(t.customerId, t.promotionId),
    index('customer_promotions_customer_status_idx').on(t.customerId, t.status),
    index('customer_promotions_promotion_idx').on(t.promotionId),
  ],
);
