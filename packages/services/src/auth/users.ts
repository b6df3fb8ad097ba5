import {
  type ChangePasswordInput,
  type ListUsersInput,
  type Page,
  REASON,
  type RegisterInput,
  type UpdateUserInput,
  type User,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { and, asc, eq, ilike, or, type SQL, sql } from 'drizzle-orm';
import { actorOf, type Caller, type UserCaller, userActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import {
  ConflictError,
  ForbiddenError,
  isUniqueViolation,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { pageOf, sortBy } from '../lib/page.ts';
import { containing } from '../lib/sql.ts';
import { assertUserAdministratorRemains, lockUserAdministration } from './administrators.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { clearPasswordFailures, reservePasswordAttempt } from './throttle.ts';

const { users, roles } = schema;

const userColumns = {
  id: users.id,
  username: users.username,
  fullName: users.fullName,
  email: users.email,
  phone: users.phone,
  isActive: users.isActive,
  mustChangePassword: users.mustChangePassword,
  lastLoginAt: users.lastLoginAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  roleId: roles.id,
  roleName: roles.name,
};

type UserRow = {
  [K in keyof typeof userColumns]:
    | (typeof userColumns)[K]['_']['data']
    | ((typeof userColumns)[K]['_']['notNull'] extends true ? never : null);
};

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    fullName: row.fullName,
    email: row.email,
    phone: row.phone,
    role: { id: row.roleId, name: row.roleName },
    isActive: row.isActive,
    mustChangePassword: row.mustChangePassword,
    lastLoginAt: row.lastLoginAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const selectUsers = (executor: Executor) =>
  executor.select(userColumns).from(users).innerJoin(roles, eq(roles.id, users.roleId));

export async function getUser(deps: ServiceDeps, id: string): Promise<User> {
  const [row] = await selectUsers(deps.db).where(eq(users.id, id));
  if (!row) throw new NotFoundError('User');
  return toUser(row);
}

async function assertRoleExists(executor: Executor, roleId: string) {
  const [role] = await executor.select({ id: roles.id }).from(roles).where(eq(roles.id, roleId));
  if (!role) throw ValidationError.field('roleId', 'unknown role');
}

function uniqueUserConflict(error: unknown): never {
  if (isUniqueViolation(error, 'users_username_lower_key'))
    throw new ConflictError(REASON.USERNAME_TAKEN, 'Username is already taken');
  if (isUniqueViolation(error, 'users_email_lower_key'))
    throw new ConflictError(REASON.EMAIL_TAKEN, 'Email is already in use');
  throw error;
}

export async function registerUser(deps: ServiceDeps, caller: Caller, input: RegisterInput): Promise<User> {
  const actor = actorOf(caller);
  if (input.password.toLowerCase() === input.username.toLowerCase())
    throw ValidationError.field('password', 'must not equal the username');
  const passwordHash = await hashPassword(input.password);
  const id = await deps.db
    .transaction(async (tx) => {
      await assertRoleExists(tx, input.roleId);
      const [created] = await tx
        .insert(users)
        .values({
          username: input.username,
          passwordHash,
          fullName: input.fullName,
          email: input.email ?? null,
          phone: input.phone ?? null,
          roleId: input.roleId,
        })
        .returning({ id: users.id });
      const userId = (created as { id: string }).id;
      await recordEvent(
        { tx, jobs: deps.jobs },
        {
          type: 'user.created',
          entityType: 'user',
          entityId: userId,
          actor,
          data: { id: userId, username: input.username, fullName: input.fullName, roleId: input.roleId },
          changes: diffFields(
            {},
            { username: input.username, fullName: input.fullName, email: input.email, roleId: input.roleId },
            ['username', 'fullName', 'email', 'roleId'],
          ),
        },
      );
      return userId;
    })
    .catch(uniqueUserConflict);
  await deps.sessionCache?.fence();
  return getUser(deps, id);
}

const sortColumns = { username: users.username, fullName: users.fullName, createdAt: users.createdAt };

export async function listUsers(deps: ServiceDeps, input: ListUsersInput): Promise<Page<User>> {
  const conditions: SQL[] = [];
  if (input.search) {
    const pattern = containing(input.search);
    const match = or(ilike(users.username, pattern), ilike(users.fullName, pattern), ilike(users.email, pattern));
    if (match) conditions.push(match);
  }
  if (input.roleId) conditions.push(eq(users.roleId, input.roleId));
  if (input.isActive !== undefined) conditions.push(eq(users.isActive, input.isActive));
  const where = conditions.length ? and(...conditions) : undefined;
  return pageOf(
    deps.db,
    input,
    {
      rows: selectUsers(deps.db).$dynamic(),
      table: users,
      where,
      order: [sortBy(sortColumns, input.sort), asc(users.id)],
    },
    (rows) => rows.map(toUser),
  );
}

/**
 * Edits a user. Deactivating bumps the token version, so reactivating later does not revive
 * tokens issued before. A role change or deactivation that would leave no active user able to
 * manage users and roles is refused (409).
 */
export async function updateUser(deps: ServiceDeps, caller: Caller, input: UpdateUserInput): Promise<User> {
  const actor = actorOf(caller);
  const { id, ...changes } = input;
  const mayRemoveAdministrator = changes.roleId !== undefined || changes.isActive === false;
  await deps.db
    .transaction(async (tx) => {
      if (mayRemoveAdministrator) await lockUserAdministration(tx);
      const [before] = await tx.select().from(users).where(eq(users.id, id)).for('update');
      if (!before) throw new NotFoundError('User');
      if (changes.roleId) await assertRoleExists(tx, changes.roleId);
      if (actor.kind === 'user' && actor.userId === id && changes.isActive === false)
        throw ValidationError.field('isActive', 'you cannot deactivate yourself');
      const values: Partial<typeof users.$inferInsert> = Object.fromEntries(
        Object.entries(changes).filter(([, v]) => v !== undefined),
      );
      if (Object.keys(values).length === 0) return;
      const deactivating = before.isActive && values.isActive === false;
      const [after] = await tx
        .update(users)
        .set(deactivating ? { ...values, tokenVersion: sql`${users.tokenVersion} + 1` } : values)
        .where(eq(users.id, id))
        .returning();
      if (mayRemoveAdministrator) await assertUserAdministratorRemains(tx);
      const fieldChanges = diffFields(before, after as Record<string, unknown>, [
        'fullName',
        'email',
        'phone',
        'roleId',
        'isActive',
      ]);
      const type =
        'isActive' in fieldChanges && changes.isActive === false
          ? 'user.deactivated'
          : 'roleId' in fieldChanges
            ? 'user.role_changed'
            : 'user.updated';
      await recordEvent(
        { tx, jobs: deps.jobs },
        {
          type,
          entityType: 'user',
          entityId: id,
          actor,
          data: { id, ...values },
          changes: fieldChanges,
        },
      );
    })
    .catch(uniqueUserConflict);
  await deps.sessionCache?.fence();
  return getUser(deps, id);
}

/**
 * Changes the caller's password and bumps the token version, so older tokens stop working.
 * A wrong current password counts as a failed login for the user and the client IP: someone
 * holding a stolen token cannot guess the password here any faster than at login.
 */
export async function changePassword(
  deps: ServiceDeps,
  caller: UserCaller,
  input: ChangePasswordInput & { ip: string },
): Promise<void> {
  const { user } = caller;
  if (user.apiKeyId)
    throw new ForbiddenError(
      "An API key cannot change its creator's password; sign in to change it",
      REASON.API_KEY_NOT_ALLOWED,
    );
  if (input.newPassword.toLowerCase() === user.username.toLowerCase())
    throw ValidationError.field('newPassword', 'must not equal the username');
  if (input.newPassword === input.currentPassword)
    throw ValidationError.field('newPassword', 'must differ from the current password');
  await reservePasswordAttempt(deps, { username: user.username, ip: input.ip });
  const [row] = await deps.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, user.id));
  if (!row || !(await verifyPassword(row.passwordHash, input.currentPassword)))
    throw new UnauthorizedError('Current password is incorrect');
  const passwordHash = await hashPassword(input.newPassword);
  await deps.db.transaction(async (tx) => {
    await clearPasswordFailures(tx, user.username);
    await tx
      .update(users)
      .set({ passwordHash, mustChangePassword: false, tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, user.id));
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'user.password_changed',
        entityType: 'user',
        entityId: user.id,
        actor: userActor(user),
        data: { id: user.id },
      },
    );
  });
  await deps.sessionCache?.fence();
}
