import { randomUUID } from 'node:crypto';
import { schema } from '@touch-crm/db';
import type { Actor } from '../actor.ts';
import { type EventContext, reactToRecorded } from './reactions.ts';

export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

export interface DomainEvent {
  /** Dotted name: `customer.created`, `order.placed`, `user.role_changed` … */
  type: string;
  entityType: string;
  entityId: string;
  actor: Actor;
  /** The resource as the API returns it. */
  data: Record<string, unknown>;
  /** The customer whose timeline shows this event. */
  customerId?: string | null;
  /** Field-level before/after for the audit trail; never secrets. */
  changes?: FieldChanges;
  /** The line a rep reads on the customer's timeline. */
  timeline?: { subject: string; content?: string };
  occurredAt?: Date;
}

/**
 * Records what happened, in the caller's transaction: the event row, its audit row, for
 * customer events the timeline entry, and the event's reactions (reactions.ts), whose jobs go
 * on `jobs` through the same transaction. A rolled-back change therefore leaves no trace and a
 * committed one is never missed.
 */
export async function recordEvent(context: EventContext, event: DomainEvent): Promise<string> {
  const [id] = await recordEvents(context, [event]);
  return id as string;
}

/** Rows per INSERT, well below Postgres' 65,535 bind parameters. */
const EVENT_BATCH = 1000;

/** `recordEvent` for many events at once: three INSERTs per batch, then one statement for the reactions. */
export async function recordEvents(context: EventContext, events: readonly DomainEvent[]): Promise<string[]> {
  const { tx } = context;
  const rows = events.map((event) => ({
    event,
    id: randomUUID(),
    actorUserId: event.actor.kind === 'user' ? event.actor.userId : null,
    actorJob: event.actor.kind === 'job' ? event.actor.name : null,
    occurredAt: event.occurredAt ?? new Date(),
  }));
  for (let start = 0; start < rows.length; start += EVENT_BATCH) {
    const batch = rows.slice(start, start + EVENT_BATCH);
    await tx.insert(schema.domainEvents).values(
      batch.map(({ event, id, actorUserId, actorJob, occurredAt }) => ({
        id,
        type: event.type,
        entityType: event.entityType,
        entityId: event.entityId,
        customerId: event.customerId ?? null,
        actorUserId,
        actorJob,
        data: event.data,
        occurredAt,
      })),
    );
    await tx.insert(schema.auditLog).values(
      batch.map(({ event, id, actorUserId, actorJob, occurredAt }) => ({
        eventId: id,
        actorUserId,
        actorJob,
        entityType: event.entityType,
        entityId: event.entityId,
        action: event.type.slice(event.type.indexOf('.') + 1),
        changes: event.changes ?? {},
        occurredAt,
      })),
    );
    const timeline = batch.filter(({ event }) => event.customerId && event.timeline);
    if (timeline.length > 0)
      await tx.insert(schema.workLogs).values(
        timeline.map(({ event, id, actorUserId, occurredAt }) => ({
          customerId: event.customerId as string,
          userId: actorUserId,
          type: 'SYSTEM' as const,
          subject: event.timeline?.subject ?? event.type,
          content: event.timeline?.content ?? null,
          occurredAt,
          eventId: id,
          eventType: event.type,
          details: event.changes ? { changes: event.changes } : null,
        })),
      );
  }
  const ids = rows.map((row) => row.id);
  await reactToRecorded(context, ids);
  return ids;
}

/** Before/after of the fields that differ; `omit` keeps secrets out. */
export function diffFields(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  fields: readonly string[],
): FieldChanges {
  const changes: FieldChanges = {};
  for (const field of fields) {
    const a = before[field] instanceof Date ? (before[field] as Date).toISOString() : before[field];
    const b = after[field] instanceof Date ? (after[field] as Date).toISOString() : after[field];
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[field] = { before: a ?? null, after: b ?? null };
  }
  return changes;
}
