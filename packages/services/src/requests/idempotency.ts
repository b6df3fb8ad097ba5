import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { pruneRateLimitCounters } from './rate-limits.ts';

export interface IdempotencyKey {
  /** requestPrincipal's answer: keys of two callers never meet. */
  principal: string;
  key: string;
}

/** A stored answer, replayed as it was sent the first time. */
export interface StoredAnswer {
  status: number;
  body: string;
  contentType: string | null;
}

/** What the first request with a key left for a retry of it. */
export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; answer: StoredAnswer }
  /** The key was first used with another request (method, path or body). */
  | { kind: 'mismatch' }
  /** The first request with this key has not answered yet. */
  | { kind: 'running' };

interface KeyRow {
  fingerprint: string;
  status: number | null;
  response_body: string | null;
  content_type: string | null;
}

/**
 * Claims `key` for a request with `fingerprint`, or says what the request that holds it left.
 * The insert is the lock: of two requests racing with one key, the unique index lets one in and
 * the other finds its row still without a status. An expired row, or one whose request has run
 * for twice the request timeout (its process died), is taken over.
 */
export async function claimIdempotencyKey(
  deps: ServiceDeps,
  id: IdempotencyKey,
  fingerprint: string,
): Promise<IdempotencyClaim> {
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + deps.config.IDEMPOTENCY_TTL * 1000);
  const abandonedBefore = new Date(now.getTime() - 2 * deps.config.REQUEST_TIMEOUT_MS);
  // A row released (a 5xx) between the insert and the read: claim again, at most a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const claimed = await deps.db.$client`
      insert into idempotency_keys as k (principal, key, fingerprint, created_at, expires_at)
      values (${id.principal}, ${id.key}, ${fingerprint}, ${now.toISOString()}, ${expiresAt.toISOString()})
          on conflict (principal, key) do update
         set fingerprint = excluded.fingerprint, status = null, response_body = null, content_type = null,
             created_at = excluded.created_at, expires_at = excluded.expires_at
       where k.expires_at <= excluded.created_at or (k.status is null and k.created_at < ${abandonedBefore.toISOString()}::timestamptz)
      returning 1`;
    if (claimed.length > 0) return { kind: 'claimed' };
    const [row] = await deps.db.$client<KeyRow[]>`
      select fingerprint, status, response_body, content_type from idempotency_keys
       where principal = ${id.principal} and key = ${id.key}`;
    if (!row) continue;
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.status === null) return { kind: 'running' };
    return {
      kind: 'replay',
      answer: { status: row.status, body: row.response_body ?? '', contentType: row.content_type },
    };
  }
  return { kind: 'running' };
}

/** Keeps the first answer for retries until the key expires. */
export async function saveIdempotentAnswer(deps: ServiceDeps, id: IdempotencyKey, answer: StoredAnswer): Promise<void> {
  await deps.db.$client`
    update idempotency_keys set status = ${answer.status}, response_body = ${answer.body},
           content_type = ${answer.contentType}
     where principal = ${id.principal} and key = ${id.key} and status is null`;
}

/** Frees a key whose request failed on our side (5xx), so the client may retry it. */
export async function releaseIdempotencyKey(deps: ServiceDeps, id: IdempotencyKey): Promise<void> {
  await deps.db.$client`
    delete from idempotency_keys where principal = ${id.principal} and key = ${id.key} and status is null`;
}

/** The `requests.prune` schedule: expired idempotency keys and counters of past rate-limit windows. */
export async function pruneRequestRecords(
  deps: ServiceDeps,
): Promise<{ idempotencyKeys: number; rateLimitCounters: number }> {
  const expired = await deps.db.execute(
    sql`delete from idempotency_keys where expires_at <= ${deps.now().toISOString()}::timestamptz`,
  );
  return { idempotencyKeys: expired.count, rateLimitCounters: await pruneRateLimitCounters(deps) };
}
