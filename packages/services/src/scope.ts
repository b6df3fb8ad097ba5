import type { PermissionKey, ScopedAction } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { eq, type SQL, sql } from 'drizzle-orm';

/** How far a caller's permission reaches: everyone's records, or only their own. */
export type Scope = { kind: 'all' } | { kind: 'own'; userId: string };

/** `customers:read` → all with `customers:read_all`, own with `customers:read_own`, else null. */
export function resolveScope(
  permissions: ReadonlySet<PermissionKey>,
  action: ScopedAction,
  userId: string,
): Scope | null {
  if (permissions.has(`${action}_all` as PermissionKey)) return { kind: 'all' };
  if (permissions.has(`${action}_own` as PermissionKey)) return { kind: 'own', userId };
  return null;
}

const ownsCustomer = (customerId: SQL | typeof schema.customers.id | typeof schema.orders.customerId, userId: string) =>
  sql`exists (select 1 from ${schema.customers} where ${schema.customers.id} = ${customerId} and ${schema.customers.ownerId} = ${userId})`;

/** What "own" means per resource. Ownership of dependent records follows their customer. */
const ownership = {
  customers: (userId: string) => eq(schema.customers.ownerId, userId),
  orders: (userId: string) => ownsCustomer(schema.orders.customerId, userId),
  projects: (userId: string) =>
    sql`(${schema.projects.ownerId} = ${userId} or ${ownsCustomer(sql`${schema.projects.customerId}`, userId)})`,
  tasks: (userId: string) => eq(schema.tasks.assigneeId, userId),
  worklogs: (userId: string) => ownsCustomer(sql`${schema.workLogs.customerId}`, userId),
  messages: (userId: string) => ownsCustomer(sql`${schema.messageQueue.customerId}`, userId),
  apiKeys: (userId: string) => eq(schema.apiKeys.userId, userId),
} as const;

export type OwnedResource = keyof typeof ownership;

/**
 * The one place that turns a scope into a WHERE condition. Every list, get, update and
 * delete of an owned resource goes through it, so an unscoped query cannot be written by accident.
 */
export function scopeWhere(scope: Scope, resource: OwnedResource): SQL | undefined {
  return scope.kind === 'all' ? undefined : ownership[resource](scope.userId);
}
