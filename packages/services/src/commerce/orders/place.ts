import {
  type CreateOrderInput,
  type ErrorReason,
  MONEY_MAX,
  MONEY_TOTAL_MAX,
  type PlacedOrder,
  REASON,
} from '@touch-crm/contract';
import { schema, type Transaction } from '@touch-crm/db';
import { and, eq, type SQL, sql } from 'drizzle-orm';
import { type AuthUser, type UserCaller, userActor } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { uuids } from '../../lib/sql.ts';
import { type Scope, scopeWhere } from '../../scope.ts';
import { usableCustomerPromotion } from '../customer-promotions.ts';
import { discountFor } from '../money.ts';
import { placedEvents, recordPlaced } from './placed-record.ts';

const { customers, promotions, customerPromotions } = schema;

interface Buyer {
  id: string;
  status: (typeof customers.$inferSelect)['status'];
  orderCount: number;
  totalSpent: number;
  /** The live customer who referred this one, if any. */
  referrerId: string | null;
}
interface Product {
  id: string;
  sku: string;
  name: string;
  unitPrice: number;
  isActive: boolean;
}

/**
 * In one statement: the customer placing the order, with their referrer, locked, then the
 * catalogue rows of the items. NO KEY UPDATE serialises orders of this customer without blocking
 * the foreign-key checks of rows that merely reference the customer (e.g. a referral reward); the
 * products are share-locked against deletion, so one removed concurrently is reported as unknown
 * rather than failing a foreign key. The SELECT list runs in order: the customer is locked first.
 */
async function lockBuyerAndCatalogue(tx: Transaction, scope: Scope, input: CreateOrderInput) {
  const ids = [...new Set(input.items.map((item) => item.productId))];
  const [row] = await tx.execute<{ buyer: Buyer | null; products: Product[] }>(sql`
    with buyer as (
      select customers.id, customers.status, customers.order_count as "orderCount",
             customers.total_spent as "totalSpent", referrer.id as "referrerId"
        from ${customers}
        left join ${customers} referrer on referrer.id = customers.referred_by_id and referrer.deleted_at is null
       where customers.id = ${input.customerId}::uuid and customers.deleted_at is null
         and ${scopeWhere(scope, 'customers') ?? sql`true`}
         for no key update of customers),
    catalogue as (
      select id, sku, name, unit_price as "unitPrice", is_active as "isActive"
        from products where id = any(${uuids(ids)})
         for key share)
    select (select row_to_json(buyer) from buyer) as buyer,
           (select coalesce(json_agg(catalogue), '[]') from catalogue) as products`);
  if (!row?.buyer) throw new NotFoundError('Customer');
  return { buyer: row.buyer, products: row.products };
}

/** The items priced from the catalogue rows, in minor units. */
function priceItems(items: CreateOrderInput['items'], found: readonly Product[]) {
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
  // One order stays within the cap of a single amount, so the sums built from orders stay exact.
  if (subtotal > MONEY_MAX)
    throw ValidationError.field('items', `an order's total is at most ${MONEY_MAX} minor units`);
  return { lines, subtotal };
}

/** Why a promotion the order asked for cannot be redeemed, for a useful 409. */
async function unavailable(tx: Transaction, customerId: string, target: SQL): Promise<ConflictError> {
  const [held] = await tx
    .select({ status: customerPromotions.status })
    .from(customerPromotions)
    .innerJoin(promotions, eq(promotions.id, customerPromotions.promotionId))
    .where(and(eq(customerPromotions.customerId, customerId), target));
  const [reason, message]: [ErrorReason, string] = !held
    ? [REASON.PROMOTION_NOT_ASSIGNED, 'The promotion is not assigned to this customer']
    : held.status === 'REDEEMED'
      ? [REASON.PROMOTION_ALREADY_REDEEMED, 'The promotion has already been used']
      : held.status === 'REVOKED'
        ? [REASON.PROMOTION_UNAVAILABLE, 'The promotion was revoked']
        : [REASON.PROMOTION_UNAVAILABLE, 'The promotion has expired or is no longer active'];
  return new ConflictError(reason, message);
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
  if (!redeemed) throw await unavailable(tx, customerId, target);
  return redeemed;
}

/** The priced lines, the promotion redeemed for the order (if any) and the amounts. */
async function billOrder(
  tx: Transaction,
  customerId: string,
  input: CreateOrderInput,
  catalogue: readonly Product[],
  now: Date,
) {
  const { lines, subtotal } = priceItems(input.items, catalogue);
  const applied = input.customerPromotionId || input.promotionCode ? await redeem(tx, customerId, input, now) : null;
  const discount = applied ? discountFor(subtotal, applied.discountType, applied.discountValue) : 0;
  return { lines, subtotal, applied, discount, total: subtotal - discount };
}
type Bill = Awaited<ReturnType<typeof billOrder>>;

/**
 * In one statement: the order, its items and its payment, the redeemed promotion pointed at the
 * order, and the order added to the buyer's totals (a LEAD or PROSPECT becomes a CUSTOMER).
 */
async function insertOrder(
  tx: Transaction,
  user: AuthUser,
  buyer: Buyer,
  input: CreateOrderInput,
  bill: Bill,
  currency: string,
  now: Date,
): Promise<{ id: string; number: number; becameCustomer: boolean }> {
  const { lines, subtotal, applied, discount, total } = bill;
  const at = sql`${now.toISOString()}::timestamptz`;
  const payment = input.payment ?? null;
  const becameCustomer = buyer.status === 'LEAD' || buyer.status === 'PROSPECT';
  const items = JSON.stringify(
    lines.map((line) => ({
      product_id: line.productId,
      sku: line.sku,
      product_name: line.productName,
      unit_price: line.unitPrice,
      quantity: line.quantity,
      line_total: line.lineTotal,
    })),
  );
  const [order] = await tx.execute<{ id: string; number: number }>(sql`
    with placed as (
      insert into orders (customer_id, created_by_id, status, currency, subtotal, discount, total,
                          applied_customer_promotion_id, notes, paid_at, created_at, updated_at)
      values (${buyer.id}::uuid, ${user.id}::uuid, ${payment ? 'PAID' : 'PENDING'}::order_status, ${currency},
              ${subtotal}, ${discount}, ${total}, ${applied?.id ?? null}::uuid, ${input.notes ?? null}::text,
              ${payment ? at : null}, ${at}, ${at})
      returning id, number),
    items as (
      insert into order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total, created_at)
      select placed.id, l.product_id, l.sku, l.product_name, l.unit_price, l.quantity, l.line_total, ${at}
        from placed, jsonb_to_recordset(${items}::jsonb)
          as l(product_id uuid, sku text, product_name text, unit_price bigint, quantity integer, line_total bigint)),
    payment as (
      insert into transactions (order_id, kind, method, reference, amount, currency, created_by_id, created_at)
      select placed.id, 'PAYMENT'::transaction_kind, ${payment?.method ?? null}::payment_method,
             ${payment?.reference ?? null}::text, ${total}::bigint, ${currency}::text, ${user.id}::uuid, ${at}
        from placed where ${payment !== null}),
    redeemed as (
      update customer_promotions set redeemed_order_id = placed.id
        from placed where customer_promotions.id = ${applied?.id ?? null}::uuid),
    buyer as (
      update customers
         set order_count = order_count + 1, total_spent = total_spent + ${total}::bigint,
             last_order_at = greatest(last_order_at, ${at}),
             status = ${becameCustomer ? sql`'CUSTOMER'` : sql`status`}, updated_at = ${at}
       where id = ${buyer.id}::uuid)
    select id, number from placed`);
  const { id, number } = order as { id: string; number: number };
  return { id, number: Number(number), becameCustomer };
}

/**
 * Places an order in one transaction: prices it from the catalogue, redeems at most one
 * promotion, records the payment, updates the customer's totals and status, and assigns
 * what the order earned. The customer row is locked first, so concurrent orders of one
 * customer run one after another and "first order" and the totals are exact. Three statements
 * (four with a promotion to redeem): lock and price, write the order, record what followed.
 */
export async function createOrder(
  deps: ServiceDeps,
  caller: UserCaller,
  input: CreateOrderInput,
): Promise<PlacedOrder> {
  const { user, scope } = caller;
  const now = deps.now();
  const actor = userActor(user);
  const currency = deps.config.CURRENCY;
  return deps.db.transaction(async (tx) => {
    const { buyer, products } = await lockBuyerAndCatalogue(tx, scope, input);
    const bill = await billOrder(tx, buyer.id, input, products, now);
    // The customer row is locked: refuse an order that would take the lifetime spend past exactness.
    if (buyer.totalSpent + bill.total > MONEY_TOTAL_MAX)
      throw ValidationError.field('items', `the customer's total spend would pass ${MONEY_TOTAL_MAX} minor units`);
    const { id, number, becameCustomer } = await insertOrder(tx, user, buyer, input, bill, currency, now);
    const placed = { id, number, paid: Boolean(input.payment), becameCustomer };
    const earned = {
      orderId: id,
      customerId: buyer.id,
      referrerId: buyer.referrerId,
      firstOrder: buyer.orderCount === 0,
      total: bill.total,
    };
    return recordPlaced(
      { tx, jobs: deps.jobs },
      placedEvents(actor, buyer, placed, bill, currency, now),
      earned,
      actor,
      now,
    );
  });
}
