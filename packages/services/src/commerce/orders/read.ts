import type { ListOrdersInput, Order, OrderDetail, SyncPage } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, gte, lte, type SQL, sql } from 'drizzle-orm';
import type { Caller } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { sortBy, syncPageOf } from '../../lib/page.ts';
import { type Scope, scopeWhere } from '../../scope.ts';
import { customerPromotionJson, customerPromotionsById } from '../customer-promotions.ts';

const { orders, customers } = schema;

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

/** A timestamptz as `Date#toISOString` writes it (UTC, milliseconds), for answers built as JSON. */
const iso = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * A SELECT of the order within `scope` as its `OrderDetail` JSON (column `detail`), with items, transactions and the
 * promotion applied to it (items and transactions as JSON aggregates); no row when there is none.
 */
export const selectOrderDetail = (scope: Scope, id: string): SQL => sql`
    select json_build_object(
      'id', orders.id, 'number', orders.number,
      'customer', json_build_object('id', c.id, 'firstName', c.first_name, 'lastName', c.last_name),
      'status', orders.status, 'currency', orders.currency,
      'subtotal', orders.subtotal, 'discount', orders.discount, 'total', orders.total,
      'appliedPromotion', (
        select ${customerPromotionJson}
          from customer_promotions cp join promotions p on p.id = cp.promotion_id
         where cp.id = orders.applied_customer_promotion_id),
      'notes', orders.notes, 'createdById', orders.created_by_id,
      'paidAt', ${iso(sql`orders.paid_at`)}, 'cancelledAt', ${iso(sql`orders.cancelled_at`)},
      'cancelReason', orders.cancel_reason,
      'createdAt', ${iso(sql`orders.created_at`)}, 'updatedAt', ${iso(sql`orders.updated_at`)},
      'items', coalesce((
        select json_agg(json_build_object('id', i.id, 'productId', i.product_id, 'sku', i.sku,
                 'productName', i.product_name, 'unitPrice', i.unit_price, 'quantity', i.quantity,
                 'lineTotal', i.line_total) order by i.created_at, i.id)
          from order_items i where i.order_id = orders.id), '[]'::json),
      'transactions', coalesce((
        select json_agg(json_build_object('id', t.id, 'kind', t.kind, 'method', t.method, 'amount', t.amount,
                 'currency', t.currency, 'reference', t.reference, 'createdAt', ${iso(sql`t.created_at`)})
                 order by t.created_at, t.id)
          from transactions t where t.order_id = orders.id), '[]'::json)
    ) as detail
      from orders
      join customers c on c.id = orders.customer_id
     where orders.id = ${id} and ${scopeWhere(scope, 'orders') ?? sql`true`}`;

/** An order within `scope` as its `OrderDetail`, in one statement. */
export async function loadOrderDetail(executor: Executor, scope: Scope, id: string): Promise<OrderDetail> {
  const [row] = await executor.execute<{ detail: OrderDetail }>(selectOrderDetail(scope, id));
  if (!row) throw new NotFoundError('Order');
  return row.detail;
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
    deps,
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
