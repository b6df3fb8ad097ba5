import type { AuditEntry, ListAuditInput, Page } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, asc, desc, eq, gte, lte, type SQL } from 'drizzle-orm';
import type { ServiceDeps } from './deps.ts';
import { pageOf } from './lib/page.ts';
import { withoutCredentials } from './webhooks/url-safety.ts';

const { auditLog, users } = schema;

type Changes = AuditEntry['changes'];

/** Webhook URLs recorded before credentials in them were refused are shown without them. */
function shownChanges(entityType: string, changes: Changes): Changes {
  const url = changes?.url;
  if (entityType !== 'webhook' || !url) return changes;
  const clean = (value: unknown) => (typeof value === 'string' ? withoutCredentials(value) : value);
  return { ...changes, url: { before: clean(url.before), after: clean(url.after) } };
}

/** The audit trail, newest first by default. Rows are only ever appended (by recordEvent). */
export async function listAudit(deps: ServiceDeps, input: ListAuditInput): Promise<Page<AuditEntry>> {
  const conditions: SQL[] = [];
  if (input.entityType) conditions.push(eq(auditLog.entityType, input.entityType));
  if (input.entityId) conditions.push(eq(auditLog.entityId, input.entityId));
  if (input.userId) conditions.push(eq(auditLog.actorUserId, input.userId));
  if (input.action) conditions.push(eq(auditLog.action, input.action));
  if (input.from) conditions.push(gte(auditLog.occurredAt, new Date(input.from)));
  if (input.to) conditions.push(lte(auditLog.occurredAt, new Date(input.to)));
  const order = input.sort === 'occurredAt' ? asc : desc;
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db
        .select({ entry: auditLog, username: users.username })
        .from(auditLog)
        .leftJoin(users, eq(users.id, auditLog.actorUserId))
        .$dynamic(),
      table: auditLog,
      where: and(...conditions),
      order: [order(auditLog.occurredAt), order(auditLog.id)],
    },
    (rows) =>
      rows.map(({ entry, username }) => ({
        id: entry.id,
        occurredAt: entry.occurredAt.toISOString(),
        actor: { userId: entry.actorUserId, username, job: entry.actorJob },
        entityType: entry.entityType,
        entityId: entry.entityId,
        action: entry.action,
        changes: shownChanges(entry.entityType, entry.changes as Changes),
        eventId: entry.eventId,
      })),
  );
}
