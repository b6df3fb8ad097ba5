import type { ScopedAction } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, eq, isNull } from 'drizzle-orm';
import type { AuthUser } from '../actor.ts';
import { ValidationError } from '../errors.ts';
import { resolveScope, type Scope, scopeWhere } from '../scope.ts';

const { customers, projects, tasks, users } = schema;

/** The caller's reach for a related resource named in the input (a customer, a project…). */
export const scopeOf = (user: AuthUser, action: ScopedAction): Scope | null =>
  resolveScope(user.permissions, action, user.id);

/*
 * A reference in a request body (customerId, projectId, taskId, ownerId) that does not exist,
 * or lies outside what the caller may see, is the same 400 naming the field: the answer
 * never tells a foreign record from a missing one.
 */

export async function assertCustomerReference(
  executor: Executor,
  customerId: string,
  scope: Scope | null,
  field = 'customerId',
): Promise<void> {
  if (!scope) throw ValidationError.field(field, 'unknown customer');
  const [row] = await executor
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.id, customerId), isNull(customers.deletedAt), scopeWhere(scope, 'customers')));
  if (!row) throw ValidationError.field(field, 'unknown customer');
}

export async function projectReference(
  executor: Executor,
  projectId: string,
  scope: Scope | null,
  field = 'projectId',
): Promise<{ id: string; customerId: string | null }> {
  if (!scope) throw ValidationError.field(field, 'unknown project');
  const [row] = await executor
    .select({ id: projects.id, customerId: projects.customerId })
    .from(projects)
    .where(and(eq(projects.id, projectId), scopeWhere(scope, 'projects')));
  if (!row) throw ValidationError.field(field, 'unknown project');
  return row;
}

export async function taskReference(
  executor: Executor,
  taskId: string,
  scope: Scope | null,
  field = 'taskId',
): Promise<{ id: string; customerId: string | null; projectId: string | null }> {
  if (!scope) throw ValidationError.field(field, 'unknown task');
  const [row] = await executor
    .select({ id: tasks.id, customerId: tasks.customerId, projectId: tasks.projectId })
    .from(tasks)
    .where(and(eq(tasks.id, taskId), scopeWhere(scope, 'tasks')));
  if (!row) throw ValidationError.field(field, 'unknown task');
  return row;
}

/** Someone work can be given to: an existing, active user. */
export async function assertActiveUser(executor: Executor, userId: string, field: string): Promise<void> {
  const [row] = await executor
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.isActive, true)));
  if (!row) throw ValidationError.field(field, 'unknown user');
}
