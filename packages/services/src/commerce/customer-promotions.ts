import type { CustomerPromotion } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, eq, gt, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';

const { customerPromotions, promotions } = schema;

const columns = {
  id: customerPromotions.id,
  customerId: customerPromotions.customerId,
  status: customerPromotions.status,
  source: customerPromotions.source,
  sourceOrderId: customerPromotions.sourceOrderId,
  assignedAt: customerPromotions.assignedAt,
  expiresAt: customerPromotions.expiresAt,
  redeemedAt: customerPromotions.redeemedAt,
  redeemedOrderId: customerPromotions.redeemedOrderId,
  promotion: {
    id: promotions.id,
    name: promotions.name,
    code: promotions.code,
    discountType: promotions.discountType,
    discountValue: promotions.discountValue,
    conditionType: promotions.conditionType,
  },
};

/** A timestamptz as `Date#toISOString` writes it (UTC, milliseconds), for answers built as JSON. */
const iso = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A `CustomerPromotion` as JSON built in SQL, from customer promotion `cp` and its promotion `p`. */
export const customerPromotionJson = sql`json_build_object(
  'id', cp.id, 'customerId', cp.customer_id,
  'promotion', json_build_object('id', p.id, 'name', p.name, 'code', p.code, 'discountType', p.discount_type,
    'discountValue', p.discount_value, 'conditionType', p.condition_type),
  'status', cp.status, 'source', cp.source, 'sourceOrderId', cp.source_order_id,
  'assignedAt', ${iso(sql`cp.assigned_at`)}, 'expiresAt', ${iso(sql`cp.expires_at`)},
  'redeemedAt', ${iso(sql`cp.redeemed_at`)}, 'redeemedOrderId', cp.redeemed_order_id)`;

/**
 * Usable right now: assigned and not used, not expired, and its promotion still
 * active and not ended (a promotion switched off later stops redemptions too).
 */
export const usableCustomerPromotion = (now: Date): SQL =>
  and(
    eq(customerPromotions.status, 'ACTIVE'),
    or(isNull(customerPromotions.expiresAt), gt(customerPromotions.expiresAt, now)),
    eq(promotions.isActive, true),
    or(isNull(promotions.endsAt), gt(promotions.endsAt, now)),
  ) as SQL;

const selectCustomerPromotions = (executor: Executor) =>
  executor
    .select(columns)
    .from(customerPromotions)
    .innerJoin(promotions, eq(promotions.id, customerPromotions.promotionId));
type Row = Awaited<ReturnType<typeof selectCustomerPromotions>>[number];

/** Customer promotions with their promotion, in assignment order. */
async function loadCustomerPromotions(executor: Executor, where: SQL | undefined): Promise<CustomerPromotion[]> {
  const rows = await selectCustomerPromotions(executor)
    .where(where)
    .orderBy(customerPromotions.assignedAt, customerPromotions.id);
  return rows.map(toCustomerPromotion);
}

export const customerPromotionsById = async (executor: Executor, ids: readonly string[]) =>
  ids.length === 0 ? [] : loadCustomerPromotions(executor, inArray(customerPromotions.id, [...ids]));

function toCustomerPromotion(row: Row): CustomerPromotion {
  return {
    id: row.id,
    customerId: row.customerId,
    promotion: row.promotion,
    status: row.status,
    source: row.source,
    sourceOrderId: row.sourceOrderId,
    assignedAt: row.assignedAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    redeemedAt: row.redeemedAt?.toISOString() ?? null,
    redeemedOrderId: row.redeemedOrderId,
  };
}
