import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id, timestamps, timestamptz } from './columns.ts';

export const roles = pgTable('roles', {
  id: id(),
  name: text().notNull().unique(),
  description: text(),
  ...timestamps,
});

export const permissions = pgTable('permissions', {
  id: id(),
  /** `resource:action`, e.g. `customers:read_own`. */
  key: text().notNull().unique(),
  resource: text().notNull(),
  action: text().notNull(),
  description: text().notNull(),
  createdAt: timestamps.createdAt,
});

export const rolePermissions = pgTable(
  'role_permissions',
  {
    roleId: uuid()
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    permissionId: uuid()
      .notNull()
      .references(() => permissions.id, { onDelete: 'cascade' }),
    createdAt: timestamps.createdAt,
  },
  (t) => [primaryKey({ columns: [t.roleId, t.permissionId] })],
);

export const users = pgTable(
  'users',
  {
    id: id(),
    username: text().notNull(),
    passwordHash: text().notNull(),
    fullName: text().notNull(),
    email: text(),
    phone: text(),
    roleId: uuid()
      .notNull()
      .references(() => roles.id),
    isActive: boolean().notNull().default(true),
    /** True while the seeded default password is in use. */
    mustChangePassword: boolean().notNull().default(false),
    /** Bumped on password change; tokens carry it, so older tokens stop working. */
    tokenVersion: integer().notNull().default(0),
    lastLoginAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    index('users_role_id_idx').on(t.roleId),
  ],
);

/** Failed logins, kept 15 minutes; the count holds across every API process. */
export const loginFailures = pgTable(
  'login_failures',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    username: text().notNull(),
    ip: text().notNull(),
    failedAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [
    index('login_failures_username_idx').on(t.username, t.failedAt),
    index('login_failures_ip_idx').on(t.ip, t.failedAt),
  ],
);
