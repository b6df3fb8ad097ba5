import { createHash, randomBytes } from 'node:crypto';
import {
  API_KEY_PREFIX,
  type ApiKey,
  type ApiKeyWithSecret,
  type CreateApiKeyInput,
  isPermissionKey,
  type ListApiKeysInput,
  type Page,
  type PermissionKey,
  REASON,
  type RevokedApiKey,
} from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import baseX from 'base-x';
import { and, desc, eq } from 'drizzle-orm';
import {
  type AuthUser,
  actorOf,
  authUserOf,
  type Caller,
  type SessionUserColumns,
  type UserCaller,
  userActor,
} from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { DomainError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { pageOf } from '../lib/page.ts';
import { theRow } from '../lib/sql.ts';
import { scopeWhere } from '../scope.ts';
import { rolePermissionsAt } from './role-permissions.ts';

const { apiKeys } = schema;
type ApiKeyRow = typeof apiKeys.$inferSelect;

/** The common 0-9A-Za-z alphabet (as in GMP and most base62 libraries). */
const base62 = baseX('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const KEY_BYTES = 32;
/** 32 bytes are at most 43 base62 digits, plus one `0` per leading zero byte. */
const KEY_SHAPE = /^tcrm_[0-9A-Za-z]{20,80}$/;
/** Characters of the key shown in lists: the prefix and 8 of the ~43 random digits. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8;
/** `lastUsedAt`/`lastUsedIp` are written at most this often per key, so key use costs no write per request. */
const LAST_USED_PRECISION_MS = 60_000;

/**
 * Plain SHA-256, not a password hash: the key carries 256 random bits, so no guess list or
 * brute force reaches it and key stretching would add nothing but a slow hash on every request.
 * A deterministic hash also lets each request find its key through a unique index, without
 * comparing secrets in application code.
 */
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export const isApiKey = (credential: string) => credential.startsWith(API_KEY_PREFIX);

function generateApiKey() {
  const key = `${API_KEY_PREFIX}${base62.encode(randomBytes(KEY_BYTES))}`;
  return { key, prefix: key.slice(0, SHOWN_LENGTH), keyHash: hashApiKey(key) };
}

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    prefix: row.prefix,
    permissions: row.permissions,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: row.lastUsedIp,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

const AUDITED = ['name', 'prefix', 'permissions', 'expiresAt', 'userId'] as const;

/** The permissions a new key names: known ones, each held by its creator (all of them when none are named). */
function keyPermissions(creator: AuthUser, named: readonly string[] | undefined): PermissionKey[] {
  if (!named) return [...creator.permissions].sort();
  const unknown = named.flatMap((key, index) => (isPermissionKey(key) ? [] : [{ key, index }]));
  if (unknown.length)
    throw new ValidationError(
      unknown.map(({ key, index }) => ({ path: ['permissions', index], message: `unknown permission: ${key}` })),
    );
  const wanted = [...new Set(named as PermissionKey[])].sort();
  const beyond = wanted.filter((key) => !creator.permissions.has(key));
  if (beyond.length)
    throw new DomainError('FORBIDDEN', `A key cannot hold permissions you do not have: ${beyond.join(', ')}`, {
      reason: REASON.API_KEY_PERMISSIONS_EXCEED_CREATOR,
      details: { permissions: beyond },
    });
  return wanted;
}

/**
 * Creates a key acting for `creator` with the permissions it names; the key is in this answer only.
 * Only a person signed in with a password may create one: a key minting keys would outlive its own revocation.
 */
export async function createApiKey(
  deps: ServiceDeps,
  caller: UserCaller,
  input: CreateApiKeyInput,
): Promise<ApiKeyWithSecret> {
  const { user: creator } = caller;
  if (creator.apiKeyId)
    throw new ForbiddenError('An API key cannot create API keys; sign in to create one', REASON.API_KEY_NOT_ALLOWED);
  const permissions = keyPermissions(creator, input.permissions);
  const now = deps.now();
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= now) throw ValidationError.field('expiresAt', 'must be in the future');
  const { key, prefix, keyHash } = generateApiKey();
  const actor = userActor(creator);
  return deps.db.transaction(async (tx) => {
    const row = theRow(
      await tx
        .insert(apiKeys)
        .values({ userId: creator.id, name: input.name, prefix, keyHash, permissions, expiresAt, createdAt: now })
        .returning(),
    );
    const apiKey = toApiKey(row);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'api_key.created',
        entityType: 'api_key',
        entityId: apiKey.id,
        actor,
        data: apiKey,
        changes: diffFields({}, apiKey, AUDITED),
        occurredAt: now,
      },
    );
    return { ...apiKey, key };
  });
}

/** Keys in the caller's scope (own, or everyone's with `api_keys:manage_all`), newest first. */
export async function listApiKeys(
  deps: ServiceDeps,
  { scope }: Caller,
  input: ListApiKeysInput,
): Promise<Page<ApiKey>> {
  const where = and(scopeWhere(scope, 'apiKeys'), input.userId ? eq(apiKeys.userId, input.userId) : undefined);
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db.select().from(apiKeys).$dynamic(),
      table: apiKeys,
      where,
      order: [desc(apiKeys.createdAt), desc(apiKeys.id)],
    },
    (rows) => rows.map(toApiKey),
  );
}

/** Deletes the key: the next request with it, on any API process, is a 401. A key outside the scope is a 404. */
export async function revokeApiKey(deps: ServiceDeps, caller: Caller, { id }: { id: string }): Promise<RevokedApiKey> {
  const { scope } = caller;
  const actor = actorOf(caller);
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .delete(apiKeys)
      .where(and(eq(apiKeys.id, id), scopeWhere(scope, 'apiKeys')))
      .returning();
    if (!row) throw new NotFoundError('API key');
    const apiKey = toApiKey(row);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'api_key.revoked',
        entityType: 'api_key',
        entityId: id,
        actor,
        data: apiKey,
        changes: diffFields(apiKey, {}, AUDITED),
        occurredAt: deps.now(),
      },
    );
    return { id, outcome: 'REVOKED' };
  });
}

interface ApiKeySessionRow extends SessionUserColumns {
  key_id: string;
  key_permissions: PermissionKey[];
  permissions_version: number;
  expired: boolean;
  last_use_stale: boolean;
}

/**
 * Resolves an API key to its creator, with the permissions the key names that the creator's role
 * still grants, reading the key, user and role rows on every request (the role's keys by its
 * version): a revocation, a demotion or a deactivation applies to the very next request, on every
 * API process.
 */
export async function authenticateApiKey(deps: ServiceDeps, key: string, ip: string): Promise<AuthUser> {
  if (!KEY_SHAPE.test(key)) throw new UnauthorizedError('Invalid API key');
  const instant = deps.now();
  const now = instant.toISOString();
  const staleBefore = new Date(instant.getTime() - LAST_USED_PRECISION_MS).toISOString();
  // Runs on every request: a postgres.js tagged query is prepared once per connection. Times go as
  // ISO strings: the Drizzle-configured client neither takes nor returns Date objects here.
  const rows = await deps.db.$client<ApiKeySessionRow[]>`
    select k.id as key_id, k.permissions as key_permissions,
           coalesce(k.expires_at <= ${now}::timestamptz, false) as expired,
           coalesce(k.last_used_at <= ${staleBefore}::timestamptz, true) as last_use_stale,
           u.id, u.username, u.full_name, u.email, u.is_active, u.must_change_password,
           r.id as role_id, r.name as role_name, r.permissions_version
      from api_keys k
      join users u on u.id = k.user_id
      join roles r on r.id = u.role_id
     where k.key_hash = ${hashApiKey(key)}`;
  const row = rows[0];
  if (!row) throw new UnauthorizedError('Invalid API key');
  if (row.expired) throw new UnauthorizedError('API key expired');
  if (!row.is_active) throw new UnauthorizedError('Account is deactivated');
  if (row.last_use_stale)
    await deps.db.$client`
      update api_keys set last_used_at = ${now}::timestamptz, last_used_ip = ${ip}
       where id = ${row.key_id} and (last_used_at is null or last_used_at <= ${staleBefore}::timestamptz)`;
  const granted = await rolePermissionsAt(deps, row.role_id, row.permissions_version);
  const named = new Set(row.key_permissions);
  return authUserOf({ ...row, permissions: granted.filter((permission) => named.has(permission)) }, row.key_id);
}
