import { type CancelOrderInput, type CustomerPromotion, type OrderDetail, REASON } from '@touch-crm/contract';
import { schema, type Transaction } from '@touch-crm/db';
import { and, eq, ne, sql } from 'drizzle-orm';
import { type Actor, type AuthUser, type UserCaller, userActor } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { type DomainEvent, recordEvents } from '../../events/record.ts';
import { type Scope, scopeWhere } from '../../scope.ts';
import { customerPromotionsById } from '../customer-promotions.ts';
import { ALL, loadOrderDetail } from './read.ts';

const { orders, transactions, customers, customerPromotions } = schema;
type OrderRow = typeof orders.$inferSelect;

/** The order within `scope`, locked in the same order as placing one: the customer first, then the order. */
async function lockOrderToCancel(tx: Transaction, scope: Scope, id: string): Promise<OrderRow> {
  const [visible] = await tx
    .select({ customerId: orders.customerId })
    .from(orders)
    .where(and(eq(orders.id, id), scopeWhere(scope, 'orders')));
  if (!visible) throw new NotFoundError('Order');
  await tx
    .select({ id: customers.id })
    .from(customers)
    .where(eq(customers.id, visible.customerId))
    .for('no key update');
  const [order] = await tx.select().from(orders).where(eq(orders.id, id)).for('update');
  const before = order as OrderRow;
  if (before.status === 'CANCELLED')
    throw new ConflictError(REASON.ORDER_ALREADY_CANCELLED, 'The order is already cancelled');
  return before;
}

/** Marks the order CANCELLED and matches each of its payments by a refund record. */
async function markCancelledAndRefund(
  tx: Transaction,
  user: AuthUser,
  before: OrderRow,
  reason: string | null,
  now: Date,
): Promise<void> {
  await tx
    .update(orders)
    .set({ status: 'CANCELLED', cancelledAt: now, cancelledById: user.id, cancelReason: reason, updatedAt: now })
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
}

/** The promotion the order redeemed becomes usable again; those it earned and are unused are revoked. */
async function unwindPromotions(tx: Transaction, orderId: string, now: Date): Promise<{ id: string }[]> {
  const restored = await tx
    .update(customerPromotions)
    .set({ status: 'ACTIVE', redeemedAt: null, redeemedOrderId: null, updatedAt: now })
    .where(and(eq(customerPromotions.redeemedOrderId, orderId), eq(customerPromotions.status, 'REDEEMED')))
    .returning({ id: customerPromotions.id });
  const revoked = await tx
    .update(customerPromotions)
    .set({ status: 'REVOKED', updatedAt: now })
    .where(and(eq(customerPromotions.sourceOrderId, orderId), eq(customerPromotions.status, 'ACTIVE')))
    .returning({ id: customerPromotions.id });
  return [...restored, ...revoked];
}

/** Takes the order out of the customer's totals; the last order date falls back to their latest live order. */
async function subtractFromBuyerTotals(tx: Transaction, before: OrderRow, now: Date): Promise<void> {
  await tx
    .update(customers)
    .set({
      orderCount: sql`${customers.orderCount} - 1`,
      totalSpent: sql`${customers.totalSpent} - ${before.total}`,
      lastOrderAt: sql`(select max(${orders.createdAt}) from ${orders} where ${orders.customerId} = ${before.customerId} and ${ne(orders.status, 'CANCELLED')})`,
      updatedAt: now,
    })
    .where(eq(customers.id, before.customerId));
}

/** `order.cancelled`, then `promotion.restored` or `promotion.revoked` for each promotion touched. */
function cancelledEvents(
  actor: Actor,
  before: OrderRow,
  reason: string | undefined,
  touched: CustomerPromotion[],
  now: Date,
): DomainEvent[] {
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
  return [
    {
      type: 'order.cancelled',
      entityType: 'order',
      entityId: before.id,
      customerId: before.customerId,
      actor,
      data: { id: before.id, number: before.number, reason: reason ?? null },
      changes: { status: { before: before.status, after: 'CANCELLED' } },
      timeline: { subject: `Order #${before.number} cancelled`, content: reason },
      occurredAt: now,
    },
    ...touched.map((cp) =>
      cp.status === 'ACTIVE'
        ? promotionEvent('promotion.restored', cp, `Promotion usable again: ${cp.promotion.name}`)
        : promotionEvent('promotion.revoked', cp, `Promotion revoked: ${cp.promotion.name}`),
    ),
  ];
}

/**
 * Cancels a PENDING or PAID order in one transaction: a redeemed promotion becomes usable
 * again, promotions the order earned and that are still unused are revoked, a payment is
 * matched by a refund record, and the customer's totals are reversed. The order stays,
 * marked CANCELLED.
 */
export async function cancelOrder(
  deps: ServiceDeps,
  caller: UserCaller,
  input: CancelOrderInput,
): Promise<OrderDetail> {
  const { user, scope } = caller;
  const now = deps.now();
  const actor: Actor = userActor(user);
  await deps.db.transaction(async (tx) => {
    const before = await lockOrderToCancel(tx, scope, input.id);
    await markCancelledAndRefund(tx, user, before, input.reason ?? null, now);
    const unwound = await unwindPromotions(tx, before.id, now);
    await subtractFromBuyerTotals(tx, before, now);
    const touched = await customerPromotionsById(
      tx,
      unwound.map((row) => row.id),
    );
    await recordEvents({ tx, jobs: deps.jobs }, cancelledEvents(actor, before, input.reason, touched, now));
  });
  return loadOrderDetail(deps.db, ALL, input.id);
}
