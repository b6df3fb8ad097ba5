import { randomUUID } from 'node:crypto';
import {
  type ListWebhookDeliveriesInput,
  type Page,
  REASON,
  type RedeliverWebhookInput,
  type WebhookDelivery,
} from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, desc, eq, type SQL } from 'drizzle-orm';
import type { Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { pageOf } from '../lib/page.ts';
import { theRow } from '../lib/sql.ts';
import { enqueueWebhookDeliveries } from './reaction.ts';
import { getWebhook, lockWebhook, toWebhook } from './subscriptions.ts';

const { webhookDeliveries } = schema;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export function toWebhookDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    responseStatus: row.responseStatus,
    responseBody: row.responseBody,
    durationMs: row.durationMs,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    payload: row.payload as Record<string, unknown>,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A subscription's deliveries, newest first. */
export async function listWebhookDeliveries(
  deps: ServiceDeps,
  input: ListWebhookDeliveriesInput,
): Promise<Page<WebhookDelivery>> {
  await getWebhook(deps, input.id);
  const conditions: (SQL | undefined)[] = [eq(webhookDeliveries.webhookId, input.id)];
  if (input.status) conditions.push(eq(webhookDeliveries.status, input.status));
  if (input.eventType) conditions.push(eq(webhookDeliveries.eventType, input.eventType));
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db.select().from(webhookDeliveries).$dynamic(),
      table: webhookDeliveries,
      where: and(...conditions),
      order: [desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id)],
    },
    (rows) => rows.map(toWebhookDelivery),
  );
}

/**
 * Sends a finished delivery again: the same body (same event id, so a receiver that already has
 * it can tell), a fresh timestamp and signature, attempts counted from zero. 409 while it is
 * still pending, or when the subscription is inactive.
 */
export async function redeliverWebhookDelivery(
  deps: ServiceDeps,
  _caller: Caller,
  input: RedeliverWebhookInput,
): Promise<WebhookDelivery> {
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const webhook = await lockWebhook(tx, input.id);
    const [delivery] = await tx
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, input.deliveryId), eq(webhookDeliveries.webhookId, input.id)))
      .for('update');
    if (!delivery) throw new NotFoundError('Delivery');
    if (delivery.status === 'PENDING')
      throw new ConflictError(REASON.WEBHOOK_DELIVERY_PENDING, 'The delivery is still pending');
    if (!webhook.isActive && delivery.eventId !== null)
      throw new ConflictError(REASON.WEBHOOK_INACTIVE, 'The webhook is inactive: activate it first', {
        disabledReason: webhook.disabledReason,
      });
    const row = theRow(
      await tx
        .update(webhookDeliveries)
        .set({
          status: 'PENDING',
          attempts: 0,
          nextAttemptAt: now,
          responseStatus: null,
          responseBody: null,
          durationMs: null,
          lastError: null,
          deliveredAt: null,
          updatedAt: now,
        })
        .where(eq(webhookDeliveries.id, delivery.id))
        .returning(),
    );
    await enqueueWebhookDeliveries(deps.jobs, tx, [delivery.id]);
    return toWebhookDelivery(row);
  });
}

/**
 * Queues a `ping` to the subscription (active or not): `{ id, type: "ping", occurredAt, data }`,
 * signed like any delivery, so an integrator can check their endpoint and verification.
 */
export async function pingWebhook(
  deps: ServiceDeps,
  _caller: Caller,
  { id }: { id: string },
): Promise<WebhookDelivery> {
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const webhook = toWebhook(await lockWebhook(tx, id));
    const deliveryId = randomUUID();
    const row = theRow(
      await tx
        .insert(webhookDeliveries)
        .values({
          id: deliveryId,
          webhookId: id,
          eventId: null,
          eventType: 'ping',
          payload: {
            id: deliveryId,
            type: 'ping',
            occurredAt: now.toISOString(),
            data: { webhookId: webhook.id, url: webhook.url, events: webhook.events },
          },
          nextAttemptAt: now,
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
    );
    await enqueueWebhookDeliveries(deps.jobs, tx, [deliveryId]);
    return toWebhookDelivery(row);
  });
}
