import { randomUUID } from 'node:crypto';
import { type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type EventContext, reactInStatement } from './reactions.ts';
import { identifiedEventsCtes } from './record-set.ts';

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

/** Events per statement: one JSON parameter each, kept to a bounded size. */
const EVENT_BATCH = 1000;

/** The actor as the event row's two columns: a user's id, or a job's name. */
export const actorColumns = (actor: Actor) => ({
  actor_user_id: actor.kind === 'user' ? actor.userId : null,
  actor_job: actor.kind === 'job' ? actor.name : null,
});

/** Events as the rows `identifiedEventsCtes` records (record-set.ts), each with a fresh id. */
const eventRows = (events: readonly DomainEvent[]) =>
  events.map((event) => ({
    event_id: randomUUID(),
    type: event.type,
    entity_type: event.entityType,
    entity_id: event.entityId,
    customer_id: event.customerId ?? null,
    ...actorColumns(event.actor),
    data: event.data,
    changes: event.changes ?? null,
    subject: event.timeline ? (event.timeline.subject ?? event.type) : null,
    content: event.timeline?.content ?? null,
    occurred_at: (event.occurredAt ?? new Date()).toISOString(),
  }));

/** The event rows sent as one JSON parameter, as a SELECT. */
const rowsOf = (json: string): SQL => sql`select * from jsonb_to_recordset(${json}::jsonb) as e(
    event_id uuid, type text, entity_type text, entity_id uuid, customer_id uuid, actor_user_id uuid,
    actor_job text, data jsonb, changes jsonb, subject text, content text, occurred_at timestamptz)`;

/** A SELECT of `events` as event rows, for a source of `identifiedEventsCtes` in the caller's statement. */
export const selectEvents = (events: readonly DomainEvent[]): SQL => rowsOf(JSON.stringify(eventRows(events)));

/**
 * `recordEvent` for many events at once, set-based: per batch one statement writes the event,
 * audit and timeline rows and the reactions (`identifiedEventsCtes`, as the set path does), from
 * the events sent as one JSON parameter; then the reactions' jobs go out through the transaction.
 */
export async function recordEvents(context: EventContext, events: readonly DomainEvent[]): Promise<string[]> {
  const rows = eventRows(events);
  for (let start = 0; start < rows.length; start += EVENT_BATCH) {
    const batch = JSON.stringify(rows.slice(start, start + EVENT_BATCH));
    await reactInStatement(
      context,
      'recorded',
      sql`recorded_src as materialized (${rowsOf(batch)}),
      ${identifiedEventsCtes('recorded', sql.raw('recorded_src'))}`,
    );
  }
  return rows.map((row) => row.event_id);
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
