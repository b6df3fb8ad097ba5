import type { ListTasksInput, MyTasksInput, Page, SyncPage, Task, TaskStatus } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, desc, eq, ilike, inArray, isNotNull, lt, not, type SQL, sql } from 'drizzle-orm';
import type { Caller, UserCaller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { type SyncInput, sortBy, syncPageOf } from '../lib/page.ts';
import { containing } from '../lib/sql.ts';
import { type Scope, scopeWhere } from '../scope.ts';

const { tasks } = schema;
export type TaskRow = typeof tasks.$inferSelect;

const OPEN: TaskStatus[] = ['TODO', 'IN_PROGRESS'];

export function toTask(row: TaskRow, now: Date): Task {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    projectId: row.projectId,
    customerId: row.customerId,
    assigneeId: row.assigneeId,
    createdById: row.createdById,
    status: row.status,
    priority: row.priority,
    dueAt: row.dueAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
    overdue: row.dueAt !== null && row.dueAt < now && OPEN.includes(row.status),
    recurrence: row.recurrenceFrequency
      ? {
          frequency: row.recurrenceFrequency,
          interval: row.recurrenceInterval ?? 1,
          until: row.recurrenceUntil?.toISOString() ?? null,
        }
      : null,
    seriesId: row.seriesId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const overdueAt = (now: Date) => and(isNotNull(tasks.dueAt), lt(tasks.dueAt, now), inArray(tasks.status, OPEN)) as SQL;

async function loadTask(executor: Executor, id: string, scope: Scope, now: Date): Promise<Task> {
  const [row] = await executor
    .select()
    .from(tasks)
    .where(and(eq(tasks.id, id), scopeWhere(scope, 'tasks')));
  if (!row) throw new NotFoundError('Task');
  return toTask(row, now);
}

export const getTask = (deps: ServiceDeps, { scope }: Caller, { id }: { id: string }) =>
  loadTask(deps.db, id, scope, deps.now());

function filterConditions(
  input: Pick<MyTasksInput, 'status' | 'projectId' | 'dueBefore' | 'overdue'>,
  now: Date,
): (SQL | undefined)[] {
  const conditions: (SQL | undefined)[] = [];
  if (input.status) conditions.push(eq(tasks.status, input.status));
  if (input.projectId) conditions.push(eq(tasks.projectId, input.projectId));
  if (input.dueBefore) conditions.push(lt(tasks.dueAt, new Date(input.dueBefore)));
  if (input.overdue === true) conditions.push(overdueAt(now));
  if (input.overdue === false) conditions.push(not(overdueAt(now)));
  return conditions;
}

async function pageOfTasks(
  deps: ServiceDeps,
  where: SQL | undefined,
  orderBy: SQL[],
  input: SyncInput,
  now: Date,
): Promise<SyncPage<Task>> {
  return syncPageOf(
    deps,
    input,
    {
      rows: deps.db.select().from(tasks).$dynamic(),
      table: tasks,
      keyset: { updatedAt: tasks.updatedAt, id: tasks.id },
      where,
      order: [...orderBy, asc(tasks.id)],
    },
    (rows) => rows.map((row) => toTask(row, now)),
  );
}

/**
 * The caller's own tasks (assigned to them), whatever their read scope: overdue ones
 * first (oldest due first), then by due date, undated last.
 */
export async function listMyTasks(deps: ServiceDeps, caller: UserCaller, input: MyTasksInput): Promise<Page<Task>> {
  const { user } = caller;
  const now = deps.now();
  const where = and(eq(tasks.assigneeId, user.id), ...filterConditions(input, now));
  const order = [
    sql`case when ${overdueAt(now)} then 0 else 1 end`,
    sql`${tasks.dueAt} asc nulls last`,
    asc(tasks.createdAt),
  ];
  return pageOfTasks(deps, where, order, input, now);
}

const sortColumns = { dueAt: tasks.dueAt, createdAt: tasks.createdAt, priority: tasks.priority };

/** The team view: every task in the caller's `tasks:read` scope (a rep: their own). */
export async function listTasks(deps: ServiceDeps, { scope }: Caller, input: ListTasksInput): Promise<SyncPage<Task>> {
  const now = deps.now();
  const conditions = [scopeWhere(scope, 'tasks'), ...filterConditions(input, now)];
  if (input.assigneeId) conditions.push(eq(tasks.assigneeId, input.assigneeId));
  if (input.customerId) conditions.push(eq(tasks.customerId, input.customerId));
  if (input.search) conditions.push(ilike(tasks.title, containing(input.search)));
  const order = [sortBy(sortColumns, input.sort, { nullsLast: true }), desc(tasks.createdAt)];
  return pageOfTasks(deps, and(...conditions), order, input, now);
}
