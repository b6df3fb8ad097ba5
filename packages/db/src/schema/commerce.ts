import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';
import { id, money, timestamps, timestamptz } from './columns.ts';
import { customers } from './customers.ts';
import { orderStatus, paymentMethod, transactionKind } from './enums.ts';
import { customerPromotions } from './promotions.ts';

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
