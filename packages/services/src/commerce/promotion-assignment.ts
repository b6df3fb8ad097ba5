import type { CustomerPromotion } from '@touch-crm/contract';
import { type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { EventContext } from '../events/reactions.ts';
import { actorColumns, type DomainEvent, recordEvents } from '../events/record.ts';
import { at, uuids } from '../lib/sql.ts';
import { type Scope, scopeWhere } from '../scope.ts';
import { customerPromotionJson, customerPromotionsById } from './customer-promotions.ts';

/**
 * Promotions are handed out by set-based INSERT … SELECT statements, never by loops.
 * "At most once per promotion per customer" is the unique constraint
 * customer_promotions_once_per_customer, so a repeat, or a concurrent duplicate from
 * another transaction, is a no-op. The one exception: an assignment revoked because the
 * order that earned it was cancelled is reinstated when earned again.
 */

/** Promotion `p` may be handed out at `now`: switched on and within its dates. */
const openAt = (now: Date) =>
  sql`p.is_active and (p.starts_at is null or p.starts_at <= ${at(now)}) and (p.ends_at is null or p.ends_at > ${at(now)})`;

/** Expiry of an assignment made at `now`: validityDays later or the promotion's end, whichever is first. */
const expiresAt = (now: Date) => sql`least(${at(now)} + make_interval(days => p.validity_days), p.ends_at)`;

const assignedBy = (actor: Actor) => sql`${actor.kind === 'user' ? actor.userId : null}::uuid`;

/**
 * The INSERT for `candidates`, a SELECT of (customer_id, promotion_id, source,
 * source_order_id, assigned_by_id, assigned_at, expires_at); returns what it assigned.
 */
const insertAssignments = (candidates: SQL) => sql`
  insert into customer_promotions as cp
    (customer_id, promotion_id, source, source_order_id, assigned_by_id, assigned_at, expires_at)
  ${candidates}
  on conflict on constraint customer_promotions_once_per_customer do update
     set status = 'ACTIVE', source = excluded.source, source_order_id = excluded.source_order_id,
         assigned_by_id = excluded.assigned_by_id, assigned_at = excluded.assigned_at,
         expires_at = excluded.expires_at, updated_at = excluded.assigned_at
   where cp.status = 'REVOKED'
  returning cp.*`;

const SOURCE_LINES: Record<string, string> = {
  FIRST_PURCHASE: 'Earned with the first purchase',
  MIN_PURCHASE: 'Earned with a qualifying purchase',
  REFERRAL: 'Reward for a referred customer’s first purchase',
  CUSTOMER_LEVEL: 'Reward for reaching a customer level',
  MANUAL: 'Assigned by a team member',
};

/** One `promotion.assigned` event per assignment. */
export const assignedEvents = (actor: Actor, assigned: readonly CustomerPromotion[], now: Date): DomainEvent[] =>
  assigned.map((cp) => ({
    type: 'promotion.assigned',
    entityType: 'customer_promotion',
    entityId: cp.id,
    actor,
    customerId: cp.customerId,
    data: cp,
    timeline: { subject: `Promotion assigned: ${cp.promotion.name}`, content: SOURCE_LINES[cp.source] },
    occurredAt: now,
  }));

/** Loads what was assigned and records its events. */
async function announce(context: EventContext, actor: Actor, ids: string[], now: Date): Promise<CustomerPromotion[]> {
  const assigned = await customerPromotionsById(context.tx, ids);
  await recordEvents(context, assignedEvents(actor, assigned, now));
  return assigned;
}

/**
 * Assigns each customer the CUSTOMER_LEVEL promotions of their current level, in one
 * statement however many customers: called when a user changes a level and by the RFM job.
 */
export async function assignLevelPromotions(
  context: EventContext,
  actor: Actor,
  customerIds: readonly string[],
  now: Date = new Date(),
): Promise<CustomerPromotion[]> {
  if (customerIds.length === 0) return [];
  const rows = await context.tx.execute<{ id: string }>(
    insertAssignments(sql`
      select c.id, p.id, 'CUSTOMER_LEVEL', null::uuid, ${assignedBy(actor)}, ${at(now)}, ${expiresAt(now)}
        from customers c
        join customer_rfm r on r.customer_id = c.id
        join promotions p on p.customer_level_id = r.level_id and p.condition_type = 'CUSTOMER_LEVEL'
       where c.id = any(${uuids(customerIds)}) and c.deleted_at is null and ${openAt(now)}
       order by c.id, p.id
         for key share of p`),
  );
  return announce(
    context,
    actor,
    rows.map((row) => row.id),
    now,
  );
}

export interface PlacedOrderFacts {
  orderId: string;
  customerId: string;
  /** The live customer who referred this one, if any. */
  referrerId: string | null;
  /** No earlier non-cancelled order: FIRST_PURCHASE, and REFERRAL for the referrer. */
  firstOrder: boolean;
  total: number;
}

/**
 * What an order earns, as CTEs for the order's events statement: `name` assigns FIRST_PURCHASE
 * and MIN_PURCHASE to its customer and REFERRAL to the referrer at the referred customer's first
 * order; `${name}_events` selects a `promotion.assigned` event row (record.ts) per assignment, its
 * data the `CustomerPromotion`. Runs after the order's own redemption (an earlier statement), so
 * nothing earned here applies to the order that earned it.
 */
export function orderPromotionsCtes(name: string, actor: Actor, order: PlacedOrderFacts, now: Date): SQL {
  const customer = sql`${order.customerId}::uuid`;
  const referrer = sql`${order.referrerId}::uuid`;
  const { actor_user_id, actor_job } = actorColumns(actor);
  return sql`
    ${sql.raw(name)} as (${insertAssignments(sql`
      select case when p.condition_type = 'REFERRAL' then ${referrer} else ${customer} end,
             p.id, p.condition_type::text, ${order.orderId}::uuid, ${assignedBy(actor)}, ${at(now)}, ${expiresAt(now)}
        from promotions p
       where ${openAt(now)}
         and (   (p.condition_type = 'FIRST_PURCHASE' and ${order.firstOrder})
              or (p.condition_type = 'MIN_PURCHASE' and p.min_purchase_amount <= ${order.total})
              or (p.condition_type = 'REFERRAL' and ${order.firstOrder} and ${referrer} is not null))
       order by p.id
         for key share of p`)}),
    ${sql.raw(`${name}_events`)} as materialized (
      select gen_random_uuid() as event_id, 'promotion.assigned' as type, 'customer_promotion' as entity_type,
             cp.id as entity_id, cp.customer_id, ${actor_user_id}::uuid as actor_user_id, ${actor_job}::text as actor_job,
             ${customerPromotionJson}::jsonb as data, null::jsonb as changes, 'Promotion assigned: ' || p.name as subject,
             ${JSON.stringify(SOURCE_LINES)}::jsonb ->> cp.source as content, ${at(now)} as occurred_at
        from ${sql.raw(name)} cp join promotions p on p.id = cp.promotion_id)`;
}

export type SkipReason = 'ALREADY_ASSIGNED' | 'NOT_FOUND';

/**
 * Hands one promotion to the given customers within `scope`, in one statement that
 * also tells each skipped customer's reason. The caller has checked the promotion is open.
 */
export async function assignToCustomers(
  context: EventContext,
  actor: Actor,
  scope: Scope,
  promotionId: string,
  customerIds: readonly string[],
  now: Date,
): Promise<{ assigned: CustomerPromotion[]; skipped: { customerId: string; reason: SkipReason }[] }> {
  const ids = [...new Set(customerIds)];
  const owned = scopeWhere(scope, 'customers');
  const rows = await context.tx.execute<{ customer_id: string; assigned_id: string | null; found: boolean }>(sql`
    with eligible as (
      select id from customers
       where id = any(${uuids(ids)}) and deleted_at is null ${owned ? sql`and ${owned}` : sql``}
    ), inserted as (${insertAssignments(sql`
      select e.id, p.id, 'MANUAL', null::uuid, ${assignedBy(actor)}, ${at(now)}, ${expiresAt(now)}
        from eligible e cross join promotions p
       where p.id = ${promotionId}::uuid
       order by e.id`)})
    select r.customer_id, i.id as assigned_id, e.id is not null as found
      from unnest(${uuids(ids)}) with ordinality as r(customer_id, position)
      left join eligible e on e.id = r.customer_id
      left join inserted i on i.customer_id = r.customer_id
     order by r.position`);
  const assigned = await announce(
    context,
    actor,
    rows.flatMap((row) => (row.assigned_id ? [row.assigned_id] : [])),
    now,
  );
  const skipped = rows
    .filter((row) => !row.assigned_id)
    .map((row) => ({
      customerId: row.customer_id,
      reason: (row.found ? 'ALREADY_ASSIGNED' : 'NOT_FOUND') as SkipReason,
    }));
  return { assigned, skipped };
}
