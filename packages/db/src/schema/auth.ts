import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { id, now, timestamps, timestamptz } from './columns.ts';

export const roles = pgTable('roles', {
  id: id(),
  name: text().notNull().unique(),
  description: text(),
  /** Bumped by a trigger whenever the role's permission set changes: API processes cache permissions per (role, version). */
  permissionsVersion: integer().notNull().default(0),
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
    failedAt: timestamptz().notNull().default(now),
  },
  (t) => [
    index('login_failures_username_idx').on(t.username, t.failedAt),
    index('login_failures_ip_idx').on(t.ip, t.failedAt),
  ],
);

/**
 * Keys for integrations (service accounts): each acts for the user who created it, with at most
 * that user's current permissions. Only a SHA-256 of the key is kept; the key is shown once.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    /** The key's first characters (`tcrm_` and 8 more), so a person can tell keys apart. */
    prefix: text().notNull(),
    /** Hex SHA-256 of the whole key: looked up on every request. */
    keyHash: text().notNull(),
    /** What the key may do, intersected with its creator's permissions at each use. */
    permissions: text().array().notNull(),
    expiresAt: timestamptz(),
    /** Updated at most once a minute per key. */
    lastUsedAt: timestamptz(),
    lastUsedIp: text(),
    createdAt: timestamps.createdAt,
  },
  (t) => [uniqueIndex('api_keys_key_hash_key').on(t.keyHash), index('api_keys_user_id_idx').on(t.userId)],
);
