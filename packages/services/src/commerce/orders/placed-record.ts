import type { CustomerPromotion, OrderDetail, PlacedOrder } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import { type EventContext, reactInStatement } from '../../events/reactions.ts';
import { type DomainEvent, selectEvents } from '../../events/record.ts';
import { identifiedEventsCtes } from '../../events/record-set.ts';
import { formatMoney } from '../money.ts';
import { orderPromotionsCtes, type PlacedOrderFacts } from '../promotion-assignment.ts';
import { ALL, selectOrderDetail } from './read.ts';

/** What the events of a placed order say of its bill. */
export interface PlacedBill {
  lines: readonly unknown[];
  subtotal: number;
  applied: { id: string; name: string } | null;
  discount: number;
  total: number;
}

/** `order.placed`, and `promotion.redeemed` and `customer.status_changed` where they happened. */
export function placedEvents(
  actor: Actor,
  buyer: { id: string; status: string },
  order: { id: string; number: number; paid: boolean; becameCustomer: boolean },
  bill: PlacedBill,
  currency: string,
  now: Date,
): DomainEvent[] {
  const { id, number } = order;
  const { lines, subtotal, applied, discount, total } = bill;
  const base = { customerId: buyer.id, actor, occurredAt: now };
  const events: DomainEvent[] = [
    {
      ...base,
      type: 'order.placed',
      entityType: 'order',
      entityId: id,
      data: {
        id,
        number,
        customerId: buyer.id,
        status: order.paid ? 'PAID' : 'PENDING',
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
  if (order.becameCustomer)
    events.push({
      ...base,
      type: 'customer.status_changed',
      entityType: 'customer',
      entityId: buyer.id,
      data: { id: buyer.id, status: 'CUSTOMER', orderId: id },
      changes: { status: { before: buyer.status, after: 'CUSTOMER' } },
      timeline: { subject: `Status changed from ${buyer.status} to CUSTOMER`, content: `First order #${number}` },
    });
  return events;
}

/**
 * In one statement, after the order's own: what the order earned (promotion-assignment.ts), the
 * events of the order and of those assignments with their audit, timeline and reactions
 * (record-set.ts), and the order read back on the transaction's own connection (after commit the
 * read would queue for a pooled connection behind every other order of a burst).
 */
export async function recordPlaced(
  context: EventContext,
  events: DomainEvent[],
  earned: PlacedOrderFacts,
  actor: Actor,
  now: Date,
): Promise<PlacedOrder> {
  const { detail, assigned } = await reactInStatement<{ detail: OrderDetail | null; assigned: CustomerPromotion[] }>(
    context,
    'recorded',
    sql`${orderPromotionsCtes('earned', actor, earned, now)},
      recorded_src as materialized (${selectEvents(events)} union all select * from earned_events),
      ${identifiedEventsCtes('recorded', sql.raw('recorded_src'))}`,
    sql`(${selectOrderDetail(ALL, earned.orderId)}) as detail,
      (select coalesce(json_agg(data order by entity_id), '[]') from earned_events) as assigned`,
  );
  if (!detail) throw new Error('the order just placed is missing');
  return { ...detail, assignedPromotions: assigned };
}
