import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, money, now, timestamps, timestamptz } from './columns.ts';
import { customers } from './customers.ts';
import { customerPromotionStatus, orderStatus, paymentMethod, transactionKind } from './enums.ts';
import { promotions } from './promotions.ts';

export const products = pgTable(
  'products',
  {
    id: id(),
    sku: text().notNull().unique(),
    name: text().notNull(),
    description: text(),
    unitPrice: money().notNull(),
    isActive: boolean().notNull().default(true),
    ...timestamps,
  },
  (t) => [
    index('products_updated_id_idx').on(t.updatedAt, t.id),
    index('products_is_active_idx').on(t.isActive),
    check('products_unit_price_nonnegative', sql`${t.unitPrice} >= 0`),
  ],
);

export const orders = pgTable(
  'orders',
  {
    id: id(),
    /** Human-readable sequential order number. */
    number: bigint({ mode: 'number' }).notNull().generatedAlwaysAsIdentity().unique(),
    customerId: uuid()
      .notNull()
      .references(() => customers.id),
    createdById: uuid().references(() => users.id),
    status: orderStatus().notNull().default('PENDING'),
    currency: text().notNull(),
    subtotal: money().notNull(),
    discount: money().notNull().default(0),
    total: money().notNull(),
    appliedCustomerPromotionId: uuid().references(() => customerPromotions.id),
    notes: text(),
    paidAt: timestamptz(),
    cancelledAt: timestamptz(),
    cancelledById: uuid().references(() => users.id),
    cancelReason: text(),
    ...timestamps,
  },
  (t) => [
    index('orders_updated_id_idx').on(t.updatedAt, t.id),
    index('orders_customer_created_idx').on(t.customerId, t.createdAt),
    index('orders_status_idx').on(t.status),
    index('orders_created_at_idx').on(t.createdAt),
    index('orders_total_idx').on(t.total),
    check('orders_subtotal_nonnegative', sql`${t.subtotal} >= 0`),
    check('orders_discount_within_subtotal', sql`${t.discount} >= 0 and ${t.discount} <= ${t.subtotal}`),
    check('orders_total_consistent', sql`${t.total} = ${t.subtotal} - ${t.discount}`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    id: id(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    productId: uuid()
      .notNull()
      .references(() => products.id),
    /** Name, SKU and price are copied so the order keeps what was sold at that price. */
    sku: text().notNull(),
    productName: text().notNull(),
    unitPrice: money().notNull(),
    quantity: integer().notNull(),
    lineTotal: money().notNull(),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    index('order_items_order_idx').on(t.orderId),
    index('order_items_product_idx').on(t.productId),
    check('order_items_quantity_positive', sql`${t.quantity} > 0`),
    check('order_items_unit_price_nonnegative', sql`${t.unitPrice} >= 0`),
    check('order_items_line_total_nonnegative', sql`${t.lineTotal} >= 0`),
  ],
);

export const transactions = pgTable(
  'transactions',
  {
    id: id(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id),
    kind: transactionKind().notNull().default('PAYMENT'),
    method: paymentMethod().notNull(),
    amount: money().notNull(),
    currency: text().notNull(),
    reference: text(),
    createdById: uuid().references(() => users.id),
    createdAt: timestamps.createdAt,
  },
  (t) => [
    index('transactions_order_idx').on(t.orderId),
    check('transactions_amount_nonnegative', sql`${t.amount} >= 0`),
  ],
);

/**
 * A promotion a customer holds. It and `orders` refer to each other (earned by, applied on and
 * redeemed on an order), so both tables live in this file.
 */
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
    assignedAt: timestamptz().notNull().default(now),
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
