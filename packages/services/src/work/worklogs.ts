import type { CreateWorkLogInput, CustomerTimelineInput, ListWorkLogsInput, Page, WorkLog } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { and, asc, desc, eq, gte, isNull, lte, ne, type SQL } from 'drizzle-orm';
import { type Caller, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { recordEvent } from '../events/record.ts';
import { pageOf } from '../lib/page.ts';
import { theRow } from '../lib/sql.ts';
import { scopeWhere } from '../scope.ts';
import { assertCustomerReference, projectReference, scopeOf, taskReference } from './references.ts';

const { workLogs, customers } = schema;
type WorkLogRow = typeof workLogs.$inferSelect;

/** Tolerated clock skew between a client and the server for `occurredAt`. */
export const OCCURRED_AT_SKEW_MS = 60_000;

export function toWorkLog(row: WorkLogRow): WorkLog {
  return {
    id: row.id,
    customerId: row.customerId,
    userId: row.userId,
    type: row.type,
    subject: row.subject,
    content: row.content,
    occurredAt: row.occurredAt.toISOString(),
    durationMinutes: row.durationMinutes,
    taskId: row.taskId,
    projectId: row.projectId,
    eventType: row.eventType,
    details: (row.details as Record<string, unknown> | null) ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * Logs a call, meeting… on a customer in the caller's `worklogs:create` scope (a rep: their
 * own customers). The author is the caller; `occurredAt` defaults to now and may not lie
 * in the future. A task or project must be visible to the caller and belong to the same
 * customer (or to none); the project defaults to the task's.
 */
export async function createWorkLog(deps: ServiceDeps, caller: UserCaller, input: CreateWorkLogInput) {
  const { user, scope } = caller;
  const now = deps.now();
  const occurredAt = input.occurredAt ? new Date(input.occurredAt) : now;
  if (occurredAt.getTime() > now.getTime() + OCCURRED_AT_SKEW_MS)
    throw ValidationError.field('occurredAt', 'must not be in the future');
  return deps.db.transaction(async (tx) => {
    await assertCustomerReference(tx, input.customerId, scope);
    let projectId = input.projectId ?? null;
    if (input.taskId) {
      const task = await taskReference(tx, input.taskId, scopeOf(user, 'tasks:read'));
      if (task.customerId && task.customerId !== input.customerId)
        throw ValidationError.field('taskId', 'belongs to another customer');
      projectId ??= task.projectId;
    }
    if (input.projectId) {
      const project = await projectReference(tx, input.projectId, scopeOf(user, 'projects:read'));
      if (project.customerId && project.customerId !== input.customerId)
        throw ValidationError.field('projectId', 'belongs to another customer');
    }
    const row = theRow(
      await tx
        .insert(workLogs)
        .values({
          customerId: input.customerId,
          userId: user.id,
          type: input.type,
          subject: input.subject,
          content: input.content ?? null,
          occurredAt,
          durationMinutes: input.durationMinutes ?? null,
          taskId: input.taskId ?? null,
          projectId,
        })
        .returning(),
    );
    const log = toWorkLog(row);
    // Audit only: the log itself is the timeline entry.
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'worklog.created',
        entityType: 'work_log',
        entityId: log.id,
        actor: userActor(user),
        data: log,
        customerId: log.customerId,
        occurredAt: now,
      },
    );
    return log;
  });
}

function periodConditions(input: { type?: WorkLog['type']; from?: string; to?: string }): (SQL | undefined)[] {
  return [
    input.type ? eq(workLogs.type, input.type) : undefined,
    input.from ? gte(workLogs.occurredAt, new Date(input.from)) : undefined,
    input.to ? lte(workLogs.occurredAt, new Date(input.to)) : undefined,
  ];
}

async function pageOfLogs(
  deps: ServiceDeps,
  where: SQL | undefined,
  ascending: boolean,
  input: { page: number; pageSize: number },
): Promise<Page<WorkLog>> {
  const direction = ascending ? asc : desc;
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db.select().from(workLogs).$dynamic(),
      table: workLogs,
      where,
      order: [direction(workLogs.occurredAt), direction(workLogs.createdAt), direction(workLogs.id)],
    },
    (rows) => rows.map(toWorkLog),
  );
}

/**
 * Work logs in the caller's `worklogs:read` scope (a rep: logs on their own customers,
 * whoever wrote them). SYSTEM entries belong to the timeline and are listed here only
 * when `type=SYSTEM` asks for them.
 */
export async function listWorkLogs(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListWorkLogsInput,
): Promise<Page<WorkLog>> {
  const where = and(
    scopeWhere(scope, 'worklogs'),
    input.type ? undefined : ne(workLogs.type, 'SYSTEM'),
    input.customerId ? eq(workLogs.customerId, input.customerId) : undefined,
    input.userId ? eq(workLogs.userId, input.userId) : undefined,
    input.taskId ? eq(workLogs.taskId, input.taskId) : undefined,
    input.projectId ? eq(workLogs.projectId, input.projectId) : undefined,
    ...periodConditions(input),
  );
  return pageOfLogs(deps, where, input.sort === 'occurredAt', input);
}

/**
 * One customer's timeline, newest first: what users logged and what the system recorded
 * (orders, promotions, status and level changes, completed tasks…). Needs `worklogs:read`;
 * with `_own` the customer must be the caller's, otherwise (or when it does not exist) 404.
 */
export async function getCustomerTimeline(
  deps: ServiceDeps,
  { scope }: Caller,
  input: CustomerTimelineInput,
): Promise<Page<WorkLog>> {
  const [customer] = await deps.db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.id, input.id), isNull(customers.deletedAt), scopeWhere(scope, 'customers')));
  if (!customer) throw new NotFoundError('Customer');
  return pageOfLogs(deps, and(eq(workLogs.customerId, input.id), ...periodConditions(input)), false, input);
}
