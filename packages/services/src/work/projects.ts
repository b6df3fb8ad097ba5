import type {
  CreateProjectInput,
  ListProjectsInput,
  Page,
  Project,
  TaskCounts,
  UpdateProjectInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, count, eq, ilike, inArray, or, type SQL } from 'drizzle-orm';
import { type Caller, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { pageOf, sortBy } from '../lib/page.ts';
import { containing, theRow } from '../lib/sql.ts';
import { type Scope, scopeWhere } from '../scope.ts';
import { assertActiveUser, assertCustomerReference, scopeOf } from './references.ts';

const { projects, tasks } = schema;
type ProjectRow = typeof projects.$inferSelect;

const AUDITED = ['name', 'description', 'customerId', 'ownerId', 'status', 'startDate', 'dueDate'] as const;

const noTasks = (): TaskCounts => ({ TODO: 0, IN_PROGRESS: 0, DONE: 0, CANCELLED: 0, total: 0 });

/** Tasks per status for each project, counting every task whoever it is assigned to. */
async function taskCounts(executor: Executor, projectIds: string[]): Promise<Map<string, TaskCounts>> {
  const counts = new Map<string, TaskCounts>();
  if (!projectIds.length) return counts;
  const rows = await executor
    .select({ projectId: tasks.projectId, status: tasks.status, n: count() })
    .from(tasks)
    .where(inArray(tasks.projectId, projectIds))
    .groupBy(tasks.projectId, tasks.status);
  for (const row of rows) {
    if (!row.projectId) continue;
    const entry = counts.get(row.projectId) ?? noTasks();
    entry[row.status] = row.n;
    entry.total += row.n;
    counts.set(row.projectId, entry);
  }
  return counts;
}

function toProject(row: ProjectRow, counts: TaskCounts = noTasks()): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    customerId: row.customerId,
    ownerId: row.ownerId,
    status: row.status,
    startDate: row.startDate,
    dueDate: row.dueDate,
    taskCounts: counts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function loadProject(executor: Executor, id: string, scope: Scope): Promise<Project> {
  const [row] = await executor
    .select()
    .from(projects)
    .where(and(eq(projects.id, id), scopeWhere(scope, 'projects')));
  if (!row) throw new NotFoundError('Project');
  return toProject(row, (await taskCounts(executor, [id])).get(id));
}

/**
 * Creates a project; the owner defaults to the caller. With `projects:create_own` the owner
 * must be the caller. A customer must be one the caller may read.
 */
export async function createProject(deps: ServiceDeps, caller: UserCaller, input: CreateProjectInput) {
  const { user, scope } = caller;
  const ownerId = input.ownerId ?? user.id;
  if (scope.kind === 'own' && ownerId !== user.id)
    throw new ForbiddenError('You may only create projects you own (projects:create_all needed)');
  return deps.db.transaction(async (tx) => {
    if (ownerId !== user.id) await assertActiveUser(tx, ownerId, 'ownerId');
    if (input.customerId) await assertCustomerReference(tx, input.customerId, scopeOf(user, 'customers:read'));
    const row = theRow(
      await tx
        .insert(projects)
        .values({
          name: input.name,
          description: input.description ?? null,
          customerId: input.customerId ?? null,
          ownerId,
          status: input.status ?? 'PLANNED',
          startDate: input.startDate ?? null,
          dueDate: input.dueDate ?? null,
        })
        .returning(),
    );
    const created = row;
    const project = toProject(created);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'project.created',
        entityType: 'project',
        entityId: created.id,
        actor: userActor(user),
        data: project,
        customerId: created.customerId,
        changes: diffFields({}, created, AUDITED),
        timeline: { subject: `Project created: ${created.name}` },
        occurredAt: deps.now(),
      },
    );
    return project;
  });
}

export const getProject = (deps: ServiceDeps, { scope }: Caller, { id }: { id: string }) =>
  loadProject(deps.db, id, scope);

const sortColumns = { name: projects.name, createdAt: projects.createdAt, dueDate: projects.dueDate };

export async function listProjects(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListProjectsInput,
): Promise<Page<Project>> {
  const conditions: (SQL | undefined)[] = [scopeWhere(scope, 'projects')];
  if (input.status) conditions.push(eq(projects.status, input.status));
  if (input.customerId) conditions.push(eq(projects.customerId, input.customerId));
  if (input.ownerId) conditions.push(eq(projects.ownerId, input.ownerId));
  if (input.search) {
    const pattern = containing(input.search);
    conditions.push(or(ilike(projects.name, pattern), ilike(projects.description, pattern)));
  }
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db.select().from(projects).$dynamic(),
      table: projects,
      where: and(...conditions),
      order: [sortBy(sortColumns, input.sort, { nullsLast: true }), asc(projects.id)],
    },
    async (rows) => {
      const counts = await taskCounts(
        deps.db,
        rows.map((row) => row.id),
      );
      return rows.map((row) => toProject(row, counts.get(row.id)));
    },
  );
}

/**
 * Edits a project within the caller's `projects:update` scope (404 outside it). With
 * `_own` the owner can only be set to the caller; a new customer must be one the caller may read.
 */
export async function updateProject(deps: ServiceDeps, caller: UserCaller, input: UpdateProjectInput) {
  const { user, scope } = caller;
  const { id, ...changes } = input;
  return deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(projects)
      .where(and(eq(projects.id, id), scopeWhere(scope, 'projects')))
      .for('update');
    if (!before) throw new NotFoundError('Project');
    if (changes.ownerId !== undefined && changes.ownerId !== before.ownerId) {
      if (scope.kind === 'own' && changes.ownerId !== user.id)
        throw new ForbiddenError('You may only hand a project to yourself (projects:update_all needed)');
      await assertActiveUser(tx, changes.ownerId, 'ownerId');
    }
    if (changes.customerId && changes.customerId !== before.customerId)
      await assertCustomerReference(tx, changes.customerId, scopeOf(user, 'customers:read'));
    const startDate = changes.startDate !== undefined ? changes.startDate : before.startDate;
    const dueDate = changes.dueDate !== undefined ? changes.dueDate : before.dueDate;
    if (startDate && dueDate && dueDate < startDate)
      throw ValidationError.field('dueDate', 'must not be before startDate');

    const values = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    const fieldChanges = diffFields(before, { ...before, ...values }, AUDITED);
    if (Object.keys(fieldChanges).length === 0) return loadProject(tx, id, { kind: 'all' });
    const row = theRow(await tx.update(projects).set(values).where(eq(projects.id, id)).returning());
    const after = row;
    const statusChanged = 'status' in fieldChanges;
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: statusChanged ? 'project.status_changed' : 'project.updated',
        entityType: 'project',
        entityId: id,
        actor: userActor(user),
        data: toProject(after),
        customerId: after.customerId,
        changes: fieldChanges,
        timeline: statusChanged ? { subject: `Project ${after.name}: ${before.status} → ${after.status}` } : undefined,
        occurredAt: deps.now(),
      },
    );
    return loadProject(tx, id, { kind: 'all' });
  });
}
