import { randomUUID } from 'node:crypto';
import {
  type CreateTaskInput,
  REASON,
  type SetTaskStatusInput,
  type Task,
  type TaskStatus,
  type UpdateTaskInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, eq } from 'drizzle-orm';
import { type AuthUser, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, ForbiddenError, isUniqueViolation, NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { theRow } from '../lib/sql.ts';
import { scopeWhere } from '../scope.ts';
import { assertActiveUser, assertCustomerReference, projectReference, scopeOf } from './references.ts';
import { toTask } from './tasks-read.ts';

const { tasks, projects } = schema;

const CLOSED: TaskStatus[] = ['DONE', 'CANCELLED'];
const AUDITED = [
  'title',
  'description',
  'projectId',
  'customerId',
  'assigneeId',
  'priority',
  'dueAt',
  'recurrenceUntil',
];

/**
 * Allowed status moves. TODO and IN_PROGRESS move freely between each other and to DONE
 * or CANCELLED. DONE and CANCELLED are closed: the only way out is back to TODO, and only
 * when the request says `reopen: true`. Closing sets completedAt; reopening clears it.
 */
export const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  TODO: ['IN_PROGRESS', 'DONE', 'CANCELLED'],
  IN_PROGRESS: ['TODO', 'DONE', 'CANCELLED'],
  DONE: [],
  CANCELLED: [],
};

const SERIES_CONSTRAINT = 'tasks_series_occurrence_key';

const canAssign = (user: AuthUser) => user.permissions.has('tasks:assign');

/** The project's customer wins when none is given; a different one is refused. */
async function resolveProjectAndCustomer(
  tx: Executor,
  user: AuthUser,
  projectId: string | null,
  customerId: string | null,
  customerGiven: boolean,
  projectChanged: boolean,
): Promise<string | null> {
  if (!projectId) return customerId;
  const project = projectChanged
    ? await projectReference(tx, projectId, scopeOf(user, 'projects:read'))
    : (await tx.select({ customerId: projects.customerId }).from(projects).where(eq(projects.id, projectId)))[0];
  const projectCustomer = project?.customerId ?? null;
  if (!projectCustomer) return customerId;
  if (customerId === projectCustomer) return customerId;
  if (customerGiven) throw ValidationError.field('customerId', "does not match the project's customer");
  return projectCustomer;
}

/**
 * Creates a task. The assignee defaults to the caller; anyone else needs `tasks:assign`.
 * A project or customer must be one the caller may read. With `recurrence` the task is
 * the first of a series (its seriesId is its own id) and its due date anchors the schedule.
 */
export async function createTask(deps: ServiceDeps, caller: UserCaller, input: CreateTaskInput): Promise<Task> {
  const { user } = caller;
  const assigneeId = input.assigneeId ?? user.id;
  if (assigneeId !== user.id && !canAssign(user))
    throw new ForbiddenError('Assigning a task to someone else needs tasks:assign');
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    if (assigneeId !== user.id) await assertActiveUser(tx, assigneeId, 'assigneeId');
    if (input.customerId) await assertCustomerReference(tx, input.customerId, scopeOf(user, 'customers:read'));
    const customerId = await resolveProjectAndCustomer(
      tx,
      user,
      input.projectId ?? null,
      input.customerId ?? null,
      input.customerId !== undefined,
      true,
    );
    const id = randomUUID();
    const recurrence = input.recurrence;
    const row = theRow(
      await tx
        .insert(tasks)
        .values({
          id,
          title: input.title,
          description: input.description ?? null,
          projectId: input.projectId ?? null,
          customerId,
          assigneeId,
          createdById: user.id,
          priority: input.priority ?? 'MEDIUM',
          dueAt: input.dueAt ? new Date(input.dueAt) : null,
          recurrenceFrequency: recurrence?.frequency ?? null,
          recurrenceInterval: recurrence ? recurrence.interval : null,
          recurrenceUntil: recurrence?.until ? new Date(recurrence.until) : null,
          seriesId: recurrence ? id : null,
        })
        .returning(),
    );
    const task = toTask(row, now);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'task.created',
        entityType: 'task',
        entityId: id,
        actor: userActor(user),
        data: task,
        customerId,
        changes: diffFields({}, row, AUDITED),
        occurredAt: now,
      },
    );
    return task;
  });
}

/**
 * Edits a task in the caller's `tasks:update` scope (404 outside it). Handing it to someone
 * other than the caller needs `tasks:assign`. A task in a recurring series keeps a due date;
 * `recurrenceUntil` changes the end of the whole series. Status moves go through setTaskStatus.
 */
export async function updateTask(deps: ServiceDeps, caller: UserCaller, input: UpdateTaskInput): Promise<Task> {
  const { user, scope } = caller;
  const { id, recurrenceUntil, ...changes } = input;
  const now = deps.now();
  return deps.db
    .transaction(async (tx) => {
      const [before] = await tx
        .select()
        .from(tasks)
        .where(and(eq(tasks.id, id), scopeWhere(scope, 'tasks')))
        .for('update');
      if (!before) throw new NotFoundError('Task');

      if (changes.assigneeId !== undefined && changes.assigneeId !== before.assigneeId) {
        if (changes.assigneeId !== user.id && !canAssign(user))
          throw new ForbiddenError('Assigning a task to someone else needs tasks:assign');
        await assertActiveUser(tx, changes.assigneeId, 'assigneeId');
      }
      if (changes.customerId && changes.customerId !== before.customerId)
        await assertCustomerReference(tx, changes.customerId, scopeOf(user, 'customers:read'));
      const projectId = changes.projectId !== undefined ? changes.projectId : before.projectId;
      const customerId = await resolveProjectAndCustomer(
        tx,
        user,
        projectId,
        changes.customerId !== undefined ? changes.customerId : before.customerId,
        changes.customerId !== undefined,
        projectId !== before.projectId,
      );
      if (before.seriesId && changes.dueAt === null)
        throw ValidationError.field('dueAt', 'a task in a recurring series needs a due date');
      if (recurrenceUntil !== undefined && !before.seriesId)
        throw ValidationError.field('recurrenceUntil', 'this task does not recur');

      const values: Partial<typeof tasks.$inferInsert> = {};
      if (changes.title !== undefined) values.title = changes.title;
      if (changes.description !== undefined) values.description = changes.description;
      if (changes.priority !== undefined) values.priority = changes.priority;
      if (changes.assigneeId !== undefined) values.assigneeId = changes.assigneeId;
      if (changes.dueAt !== undefined) values.dueAt = changes.dueAt === null ? null : new Date(changes.dueAt);
      if (projectId !== before.projectId) values.projectId = projectId;
      if (customerId !== before.customerId) values.customerId = customerId;
      const until =
        recurrenceUntil === undefined ? undefined : recurrenceUntil === null ? null : new Date(recurrenceUntil);
      if (until !== undefined) values.recurrenceUntil = until;

      const fieldChanges = diffFields(before, { ...before, ...values }, AUDITED);
      if (Object.keys(fieldChanges).length === 0) return toTask(before, now);
      const row = theRow(await tx.update(tasks).set(values).where(eq(tasks.id, id)).returning());
      // The series' end is one rule: every task of the series carries the same copy of it.
      if (until !== undefined && before.seriesId)
        await tx.update(tasks).set({ recurrenceUntil: until }).where(eq(tasks.seriesId, before.seriesId));
      const task = toTask(row, now);
      await recordEvent(
        { tx, jobs: deps.jobs },
        {
          type: 'assigneeId' in fieldChanges ? 'task.assigned' : 'task.updated',
          entityType: 'task',
          entityId: id,
          actor: userActor(user),
          data: task,
          customerId: task.customerId,
          changes: fieldChanges,
          occurredAt: now,
        },
      );
      return task;
    })
    .catch((error: unknown) => {
      if (isUniqueViolation(error, SERIES_CONSTRAINT))
        throw new ConflictError(
          REASON.TASK_SERIES_SLOT_TAKEN,
          'Another task of this series is already due at that moment',
        );
      throw error;
    });
}

/**
 * Moves a task along TASK_TRANSITIONS, by its assignee (`tasks:update_own`) or a holder of
 * `tasks:update_all`; anyone else gets 404. Asking for the current status changes nothing.
 * Completing a task with a customer puts it on that customer's timeline.
 */
export async function setTaskStatus(deps: ServiceDeps, caller: UserCaller, input: SetTaskStatusInput) {
  const { user, scope } = caller;
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(tasks)
      .where(and(eq(tasks.id, input.id), scopeWhere(scope, 'tasks')))
      .for('update');
    if (!before) throw new NotFoundError('Task');
    const from = before.status;
    const to = input.status;
    if (from === to) return toTask(before, now);

    const reopening = CLOSED.includes(from) && to === 'TODO' && input.reopen === true;
    if (!reopening && !TASK_TRANSITIONS[from].includes(to)) {
      const allowed = CLOSED.includes(from) ? ['TODO (with reopen: true)'] : TASK_TRANSITIONS[from];
      const hint = CLOSED.includes(from) && to === 'TODO' ? '; send reopen: true to reopen it' : '';
      throw new ConflictError(REASON.TASK_TRANSITION_NOT_ALLOWED, `A ${from} task cannot move to ${to}${hint}`, {
        from,
        to,
        allowed,
      });
    }
    const completedAt = CLOSED.includes(to) ? now : null;
    const row = theRow(
      await tx.update(tasks).set({ status: to, completedAt }).where(eq(tasks.id, input.id)).returning(),
    );
    const task = toTask(row, now);
    const type = reopening
      ? 'task.reopened'
      : to === 'DONE'
        ? 'task.completed'
        : to === 'CANCELLED'
          ? 'task.cancelled'
          : 'task.status_changed';
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type,
        entityType: 'task',
        entityId: task.id,
        actor: userActor(user),
        data: task,
        customerId: task.customerId,
        changes: diffFields(before, row, ['status', 'completedAt']),
        timeline: type === 'task.completed' ? { subject: `Task completed: ${task.title}` } : undefined,
        occurredAt: now,
      },
    );
    return task;
  });
}
