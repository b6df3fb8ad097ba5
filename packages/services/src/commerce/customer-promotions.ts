import type { CustomerPromotion } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, eq, gt, inArray, isNull, or, type SQL } from 'drizzle-orm';

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
