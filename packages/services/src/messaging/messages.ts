import type { ListMessagesInput, Message, Page } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, asc, count, desc, eq, type SQL } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { type Scope, scopeWhere } from '../scope.ts';

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
export async function listMessages(deps: ServiceDeps, scope: Scope, input: ListMessagesInput): Promise<Page<Message>> {
  const conditions: (SQL | undefined)[] = [scopeWhere(scope, 'messages')];
  if (input.customerId) conditions.push(eq(messageQueue.customerId, input.customerId));
  if (input.campaignId) conditions.push(eq(messageQueue.campaignId, input.campaignId));
  if (input.status) conditions.push(eq(messageQueue.status, input.status));
  if (input.type) conditions.push(eq(messageQueue.type, input.type));
  if (input.direction) conditions.push(eq(messageQueue.direction, input.direction));
  const where = and(...conditions);
  const descending = input.sort.startsWith('-');
  const column = sortColumns[input.sort.replace('-', '') as keyof typeof sortColumns];
  const [rows, totals] = await Promise.all([
    deps.db
      .select()
      .from(messageQueue)
      .where(where)
      .orderBy(descending ? desc(column) : asc(column), asc(messageQueue.id))
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    deps.db.select({ total: count() }).from(messageQueue).where(where),
  ]);
  return { items: rows.map(toMessage), total: totals[0]?.total ?? 0, page: input.page, pageSize: input.pageSize };
}

export async function getMessage(deps: ServiceDeps, scope: Scope, id: string): Promise<Message> {
  const [row] = await deps.db
    .select()
    .from(messageQueue)
    .where(and(eq(messageQueue.id, id), scopeWhere(scope, 'messages')));
  if (!row) throw new NotFoundError('Message');
  return toMessage(row);
}
