import type { ListOrdersInput, Order, OrderDetail, SyncPage } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { Caller } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { sortBy, syncPageOf } from '../../lib/page.ts';
import { type Scope, scopeWhere } from '../../scope.ts';
import { customerPromotionsById } from '../customer-promotions.ts';

const { orders, orderItems, transactions, customers } = schema;

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

export const ALL: Scope = { kind: 'all' };

/** An order within `scope`, with items and transactions. */
export async function loadOrderDetail(executor: Executor, scope: Scope, id: string): Promise<OrderDetail> {
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

export const getOrder = (deps: ServiceDeps, { scope }: Caller, { id }: { id: string }): Promise<OrderDetail> =>
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

export async function listOrders(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListOrdersInput,
): Promise<SyncPage<Order>> {
  return syncPageOf(
    deps.db,
    input,
    {
      rows: selectOrders(deps.db).$dynamic(),
      table: orders,
      keyset: { updatedAt: orders.updatedAt, id: orders.id },
      where: orderFilters(scope, input),
      order: [sortBy(sortColumns, input.sort), asc(orders.id)],
    },
    (rows) => toOrders(deps.db, rows),
  );
}
