import type {
  CancelOrderInput,
  CreateOrderInput,
  CustomerPromotion,
  ListOrdersInput,
  Order,
  OrderDetail,
  Page,
  PlacedOrder,
} from '@touch-crm/contract';
import { type Executor, schema, type Transaction } from '@touch-crm/db';
import { and, asc, count, desc, eq, gte, inArray, isNull, lte, ne, type SQL, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { type Actor, type AuthUser, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { type DomainEvent, recordEvents } from '../events/record.ts';
import { type Scope, scopeWhere } from '../scope.ts';
import { customerPromotionsById, usableCustomerPromotion } from './customer-promotions.ts';
import { discountFor, formatMoney } from './money.ts';
import { assignedEvents, assignOrderPromotions } from './promotion-assignment.ts';

const { orders, orderItems, transactions, customers, products, promotions, customerPromotions } = schema;
type OrderRow = typeof orders.$inferSelect;

const selectOrders = (executor: Executor) =>
  executor
    .select({
      order: orders,
      customer: { id: customers.id, firstName: customers.firstName, lastName: customers.lastName },
    })
    .from(orders)
    .innerJoin(customers, eq(customers.id, orders.customerId));
type Row = Awaited<ReturnType<typeof selectOrders>>[number];

async function toOrders(executor: Executor, rows: Row[]): Promise<Order[]> {
  const applied = await customerPromotionsById(
    executor,
    rows.flatMap(({ order }) => (order.appliedCustomerPromotionId ? [order.appliedCustomerPromotionId] : [])),
  );
  return rows.map(({ order: o, customer }) => ({
    id: o.id,
    number: o.number,
    customer,
    status: o.status,
    currency: o.currency,
    subtotal: o.subtotal,
    discount: o.discount,
    total: o.total,
    appliedPromotion: applied.find((cp) => cp.id === o.appliedCustomerPromotionId) ?? null,
    notes: o.notes,
    createdById: o.createdById,
    paidAt: o.paidAt?.toISOString() ?? null,
    cancelledAt: o.cancelledAt?.toISOString() ?? null,
    cancelReason: o.cancelReason,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  }));
}

const ALL: Scope = { kind: 'all' };

/** An order within `scope`, with items and transactions. */
async function loadOrderDetail(executor: Executor, scope: Scope, id: string): Promise<OrderDetail> {
  const [row] = await selectOrders(executor).where(and(eq(orders.id, id), scopeWhere(scope, 'orders')));
  if (!row) throw new NotFoundError('Order');
  const [[order], items, payments] = await Promise.all([
    toOrders(executor, [row]),
    executor
      .select({
        id: orderItems.id,
        productId: orderItems.productId,
        sku: orderItems.sku,
        productName: orderItems.productName,
        unitPrice: orderItems.unitPrice,
        quantity: orderItems.quantity,
        lineTotal: orderItems.lineTotal,
      })
      .from(orderItems)
      .where(eq(orderItems.orderId, id))
      .orderBy(asc(orderItems.createdAt), asc(orderItems.id)),
    executor.select().from(transactions).where(eq(transactions.orderId, id)).orderBy(asc(transactions.createdAt)),
  ]);
  return {
    ...(order as Order),
    items,
    transactions: payments.map((t) => ({
      id: t.id,
      kind: t.kind,
      method: t.method,
      amount: t.amount,
      currency: t.currency,
      reference: t.reference,
      createdAt: t.createdAt.toISOString(),
    })),
  };
}

export const getOrder = (deps: ServiceDeps, scope: Scope, id: string): Promise<OrderDetail> =>
  loadOrderDetail(deps.db, scope, id);

const sortColumns = { createdAt: orders.createdAt, total: orders.total, number: orders.number };

/** The list's filters as one condition; the list and the export share it. */
export function orderFilters(scope: Scope, input: Omit<ListOrdersInput, 'page' | 'pageSize' | 'sort'>) {
  const conditions: (SQL | undefined)[] = [scopeWhere(scope, 'orders')];
  if (input.customerId) conditions.push(eq(orders.customerId, input.customerId));
  if (input.status) conditions.push(eq(orders.status, input.status));
  if (input.createdFrom) conditions.push(gte(orders.createdAt, new Date(input.createdFrom)));
  if (input.createdTo) conditions.push(lte(orders.createdAt, new Date(input.createdTo)));
  if (input.minTotal !== undefined) conditions.push(gte(orders.total, input.minTotal));
  return and(...conditions);
}

export async function listOrders(deps: ServiceDeps, scope: Scope, input: ListOrdersInput): Promise<Page<Order>> {
  const where = orderFilters(scope, input);
  const column = sortColumns[input.sort.replace('-', '') as keyof typeof sortColumns];
  const [rows, totals] = await Promise.all([
    selectOrders(deps.db)
      .where(where)
      .orderBy(input.sort.startsWith('-') ? desc(column) : asc(column), asc(orders.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    deps.db.select({ total: count() }).from(orders).where(where),
  ]);
  return {
    items: await toOrders(deps.db, rows),
    total: totals[0]?.total ?? 0,
    page: input.page,
    pageSize: input.pageSize,
  };
}

/**
 * Prices the items from the catalogue. The rows are share-locked against deletion, so a
 * product removed concurrently is reported as unknown rather than failing a foreign key.
 */
async function priceItems(tx: Transaction, items: CreateOrderInput['items']) {
  const ids = [...new Set(items.map((item) => item.productId))];
  const found = await tx
    .select({
      id: products.id,
      sku: products.sku,
      name: products.name,
      unitPrice: products.unitPrice,
      isActive: products.isActive,
    })
    .from(products)
    .where(inArray(products.id, ids))
    .for('key share');
  const lines = items.map((item, index) => {
    const product = found.find((p) => p.id === item.productId);
    const invalid = (message: string) => new ValidationError([{ path: ['items', index, 'productId'], message }]);
    if (!product) throw invalid('unknown product');
    if (!product.isActive) throw invalid('product is not for sale');
    return {
      productId: product.id,
      sku: product.sku,
      productName: product.name,
      unitPrice: product.unitPrice,
      quantity: item.quantity,
      lineTotal: product.unitPrice * item.quantity,
    };
  });
  const subtotal = lines.reduce((sum, line) => sum + line.lineTotal, 0);
  if (!Number.isSafeInteger(subtotal)) throw ValidationError.field('items', 'order total is too large');
  return { lines, subtotal };
}

/** Why a promotion the order asked for cannot be redeemed, for a useful 409. */
async function unavailableReason(tx: Transaction, customerId: string, target: SQL): Promise<string> {
  const [held] = await tx
    .select({ status: customerPromotions.status })
    .from(customerPromotions)
    .innerJoin(promotions, eq(promotions.id, customerPromotions.promotionId))
    .where(and(eq(customerPromotions.customerId, customerId), target));
  if (!held) return 'The promotion is not assigned to this customer';
  if (held.status === 'REDEEMED') return 'The promotion has already been used';
  if (held.status === 'REVOKED') return 'The promotion was revoked';
  return 'The promotion has expired or is no longer active';
}

/**
 * Marks the requested promotion redeemed, guarded by its state in the same UPDATE, so of
 * two orders racing for it exactly one succeeds; the other gets a 409.
 */
async function redeem(tx: Transaction, customerId: string, input: CreateOrderInput, now: Date) {
  const target = input.customerPromotionId
    ? eq(customerPromotions.id, input.customerPromotionId)
    : eq(promotions.code, (input.promotionCode as string).toUpperCase());
  const [redeemed] = await tx
    .update(customerPromotions)
    .set({ status: 'REDEEMED', redeemedAt: now, updatedAt: now })
    .from(promotions)
    .where(
      and(
        eq(promotions.id, customerPromotions.promotionId),
        eq(customerPromotions.customerId, customerId),
        target,
        usableCustomerPromotion(now),
      ),
    )
    .returning({
      id: customerPromotions.id,
      name: promotions.name,
      discountType: promotions.discountType,
      discountValue: promotions.discountValue,
    });
  if (!redeemed) throw new ConflictError(await unavailableReason(tx, customerId, target));
  return redeemed;
}

/**
 * Places an order in one transaction: prices it from the catalogue, redeems at most one
 * promotion, records the payment, updates the customer's totals and status, and assigns
 * what the order earned. The customer row is locked first, so concurrent orders of one
 * customer run one after another and "first order" and the totals are exact.
 */
export async function createOrder(
  deps: ServiceDeps,
  user: AuthUser,
  scope: Scope,
  input: CreateOrderInput,
): Promise<PlacedOrder> {
  const now = deps.now();
  const actor = userActor(user);
  const currency = deps.config.CURRENCY;
  const referrers = alias(customers, 'referrer');
  return deps.db.transaction(async (tx) => {
    // NO KEY UPDATE serialises orders of this customer without blocking the foreign-key
    // checks of rows that merely reference the customer (e.g. a referral reward).
    const [customer] = await tx
      .select({
        id: customers.id,
        firstName: customers.firstName,
        lastName: customers.lastName,
        status: customers.status,
        orderCount: customers.orderCount,
        referrerId: referrers.id,
      })
      .from(customers)
      .leftJoin(referrers, and(eq(referrers.id, customers.referredById), isNull(referrers.deletedAt)))
      .where(and(eq(customers.id, input.customerId), isNull(customers.deletedAt), scopeWhere(scope, 'customers')))
      .for('no key update', { of: customers });
    if (!customer) throw new NotFoundError('Customer');

    const { lines, subtotal } = await priceItems(tx, input.items);
    const applied = input.customerPromotionId || input.promotionCode ? await redeem(tx, customer.id, input, now) : null;
    const discount = applied ? discountFor(subtotal, applied.discountType, applied.discountValue) : 0;
    const total = subtotal - discount;

    const [order] = await tx
      .insert(orders)
      .values({
        customerId: customer.id,
        createdById: user.id,
        status: input.payment ? 'PAID' : 'PENDING',
        currency,
        subtotal,
        discount,
        total,
        appliedCustomerPromotionId: applied?.id ?? null,
        notes: input.notes ?? null,
        paidAt: input.payment ? now : null,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: orders.id, number: orders.number });
    const { id, number } = order as { id: string; number: number };
    await tx.insert(orderItems).values(lines.map((line) => ({ ...line, orderId: id, createdAt: now })));
    if (input.payment)
      await tx.insert(transactions).values({
        orderId: id,
        kind: 'PAYMENT',
        method: input.payment.method,
        reference: input.payment.reference ?? null,
        amount: total,
        currency,
        createdById: user.id,
        createdAt: now,
      });
    if (applied)
      await tx.update(customerPromotions).set({ redeemedOrderId: id }).where(eq(customerPromotions.id, applied.id));

    const becomesCustomer = customer.status === 'LEAD' || customer.status === 'PROSPECT';
    await tx
      .update(customers)
      .set({
        orderCount: sql`${customers.orderCount} + 1`,
        totalSpent: sql`${customers.totalSpent} + ${total}`,
        lastOrderAt: sql`greatest(${customers.lastOrderAt}, ${now.toISOString()}::timestamptz)`,
        ...(becomesCustomer ? { status: 'CUSTOMER' as const } : {}),
        updatedAt: now,
      })
      .where(eq(customers.id, customer.id));

    const base = { customerId: customer.id, actor, occurredAt: now };
    const events: DomainEvent[] = [
      {
        ...base,
        type: 'order.placed',
        entityType: 'order',
        entityId: id,
        data: {
          id,
          number,
          customerId: customer.id,
          status: input.payment ? 'PAID' : 'PENDING',
          subtotal,
          discount,
          total,
          currency,
        },
        timeline: {
          subject: `Order #${number} placed`,
          content: `${lines.length} line(s), total ${formatMoney(total, currency)}${discount ? `, discount ${formatMoney(discount, currency)}` : ''}`,
        },
      },
    ];
    if (applied)
      events.push({
        ...base,
        type: 'promotion.redeemed',
        entityType: 'customer_promotion',
        entityId: applied.id,
        data: { id: applied.id, orderId: id, discount },
        timeline: { subject: `Promotion redeemed: ${applied.name}`, content: `On order #${number}` },
      });
    if (becomesCustomer)
      events.push({
        ...base,
        type: 'customer.status_changed',
        entityType: 'customer',
        entityId: customer.id,
        data: { id: customer.id, status: 'CUSTOMER', orderId: id },
        changes: { status: { before: customer.status, after: 'CUSTOMER' } },
        timeline: { subject: `Status changed from ${customer.status} to CUSTOMER`, content: `First order #${number}` },
      });
    const assigned = await assignOrderPromotions(
      tx,
      actor,
      {
        orderId: id,
        customerId: customer.id,
        referrerId: customer.referrerId,
        firstOrder: customer.orderCount === 0,
        total,
      },
      now,
    );
    await recordEvents({ tx, jobs: deps.jobs }, [...events, ...assignedEvents(actor, assigned, now)]);
    // Read back on the transaction's own connection: after commit the read would queue for
    // a pooled connection behind every other order of a burst.
    return { ...(await loadOrderDetail(tx, ALL, id)), assignedPromotions: assigned };
  });
}

/**
 * Cancels a PENDING or PAID order in one transaction: a redeemed promotion becomes usable
 * again, promotions the order earned and that are still unused are revoked, a payment is
 * matched by a refund record, and the customer's totals are reversed. The order stays,
 * marked CANCELLED.
 */
export async function cancelOrder(
  deps: ServiceDeps,
  user: AuthUser,
  scope: Scope,
  input: CancelOrderInput,
): Promise<OrderDetail> {
  const now = deps.now();
  const actor: Actor = userActor(user);
  await deps.db.transaction(async (tx) => {
    const [visible] = await tx
      .select({ customerId: orders.customerId })
      .from(orders)
      .where(and(eq(orders.id, input.id), scopeWhere(scope, 'orders')));
    if (!visible) throw new NotFoundError('Order');
    // Same lock order as placing an order: the customer first, then the order.
    await tx
      .select({ id: customers.id })
      .from(customers)
      .where(eq(customers.id, visible.customerId))
      .for('no key update');
    const [order] = await tx.select().from(orders).where(eq(orders.id, input.id)).for('update');
    const before = order as OrderRow;
    if (before.status === 'CANCELLED') throw new ConflictError('The order is already cancelled');

    await tx
      .update(orders)
      .set({
        status: 'CANCELLED',
        cancelledAt: now,
        cancelledById: user.id,
        cancelReason: input.reason ?? null,
        updatedAt: now,
      })
      .where(eq(orders.id, before.id));
    const payments = await tx
      .select()
      .from(transactions)
      .where(and(eq(transactions.orderId, before.id), eq(transactions.kind, 'PAYMENT')));
    if (payments.length > 0)
      await tx.insert(transactions).values(
        payments.map((payment) => ({
          orderId: before.id,
          kind: 'REFUND' as const,
          method: payment.method,
          amount: payment.amount,
          currency: payment.currency,
          reference: payment.reference,
          createdById: user.id,
          createdAt: now,
        })),
      );

    const restored = await tx
      .update(customerPromotions)
      .set({ status: 'ACTIVE', redeemedAt: null, redeemedOrderId: null, updatedAt: now })
      .where(and(eq(customerPromotions.redeemedOrderId, before.id), eq(customerPromotions.status, 'REDEEMED')))
      .returning({ id: customerPromotions.id });
    const revoked = await tx
      .update(customerPromotions)
      .set({ status: 'REVOKED', updatedAt: now })
      .where(and(eq(customerPromotions.sourceOrderId, before.id), eq(customerPromotions.status, 'ACTIVE')))
      .returning({ id: customerPromotions.id });

    await tx
      .update(customers)
      .set({
        orderCount: sql`${customers.orderCount} - 1`,
        totalSpent: sql`${customers.totalSpent} - ${before.total}`,
        lastOrderAt: sql`(select max(${orders.createdAt}) from ${orders} where ${orders.customerId} = ${before.customerId} and ${ne(orders.status, 'CANCELLED')})`,
        updatedAt: now,
      })
      .where(eq(customers.id, before.customerId));

    const touched = await customerPromotionsById(
      tx,
      [...restored, ...revoked].map((row) => row.id),
    );
    const promotionEvent = (type: string, cp: CustomerPromotion, subject: string): DomainEvent => ({
      type,
      entityType: 'customer_promotion',
      entityId: cp.id,
      customerId: cp.customerId,
      actor,
      data: cp,
      timeline: { subject, content: `Order #${before.number} was cancelled` },
      occurredAt: now,
    });
    await recordEvents({ tx, jobs: deps.jobs }, [
      {
        type: 'order.cancelled',
        entityType: 'order',
        entityId: before.id,
        customerId: before.customerId,
        actor,
        data: { id: before.id, number: before.number, reason: input.reason ?? null },
        changes: { status: { before: before.status, after: 'CANCELLED' } },
        timeline: { subject: `Order #${before.number} cancelled`, content: input.reason },
        occurredAt: now,
      },
      ...touched.map((cp) =>
        cp.status === 'ACTIVE'
          ? promotionEvent('promotion.restored', cp, `Promotion usable again: ${cp.promotion.name}`)
          : promotionEvent('promotion.revoked', cp, `Promotion revoked: ${cp.promotion.name}`),
      ),
    ]);
  });
  return loadOrderDetail(deps.db, ALL, input.id);
}
