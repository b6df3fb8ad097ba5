import type { ListMessagesInput, Message, SyncPage } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, asc, eq, type SQL } from 'drizzle-orm';
import type { Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { sortBy, syncPageOf } from '../lib/page.ts';
import { scopeWhere } from '../scope.ts';

const { messageQueue } = schema;
type MessageRow = typeof messageQueue.$inferSelect;

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    customerId: row.customerId,
    phone: row.phone,
    body: row.body,
    direction: row.direction,
    type: row.type,
    campaignId: row.campaignId,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    provider: row.provider,
    providerMessageId: row.providerMessageId,
    scheduledFor: row.scheduledFor.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
    deliveryReportedAt: row.deliveryReportedAt?.toISOString() ?? null,
    carrierErrorCode: row.carrierErrorCode,
    idempotencyKey: row.idempotencyKey,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const sortColumns = {
  createdAt: messageQueue.createdAt,
  scheduledFor: messageQueue.scheduledFor,
  sentAt: messageQueue.sentAt,
};

/** Messages within the caller's scope (a rep sees those of their own customers). */
export async function listMessages(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListMessagesInput,
): Promise<SyncPage<Message>> {
  const conditions: (SQL | undefined)[] = [scopeWhere(scope, 'messages')];
  if (input.customerId) conditions.push(eq(messageQueue.customerId, input.customerId));
  if (input.campaignId) conditions.push(eq(messageQueue.campaignId, input.campaignId));
  if (input.status) conditions.push(eq(messageQueue.status, input.status));
  if (input.type) conditions.push(eq(messageQueue.type, input.type));
  if (input.direction) conditions.push(eq(messageQueue.direction, input.direction));
  const where = and(...conditions);
  return syncPageOf(
    deps,
    input,
    {
      rows: deps.db.select().from(messageQueue).$dynamic(),
      table: messageQueue,
      keyset: { updatedAt: messageQueue.updatedAt, id: messageQueue.id },
      where,
      order: [sortBy(sortColumns, input.sort), asc(messageQueue.id)],
    },
    (rows) => rows.map(toMessage),
  );
}

export async function getMessage(deps: ServiceDeps, { scope }: Caller, { id }: { id: string }): Promise<Message> {
  const [row] = await deps.db
    .select()
    .from(messageQueue)
    .where(and(eq(messageQueue.id, id), scopeWhere(scope, 'messages')));
  if (!row) throw new NotFoundError('Message');
  return toMessage(row);
}
