import { REASON } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { TooManyRequestsError } from '../errors.ts';

/** Seconds until the count of failures for `column = value` in the window falls below `max`. */
async function blockedFor(
  deps: ServiceDeps,
  tx: Executor,
  column: 'username' | 'ip',
  value: string,
  max: number,
): Promise<number> {
  const windowSeconds = deps.config.LOGIN_FAILURE_WINDOW;
  const now = deps.now();
  const rows = await tx.execute<{ failed_at: string }>(sql`
    select failed_at from login_failures
     where ${sql.identifier(column)} = ${value}
       and failed_at > ${now.toISOString()}::timestamptz - make_interval(secs => ${windowSeconds})
     order by failed_at desc
     offset ${max - 1} limit 1`);
  const oldestBlocking = rows[0];
  if (!oldestBlocking) return 0;
  const unblockAt = new Date(oldestBlocking.failed_at).getTime() + windowSeconds * 1000;
  return Math.max(1, Math.ceil((unblockAt - now.getTime()) / 1000));
}

export const throttleUsername = (username: string) => username.trim().toLowerCase();

/**
 * Before a password is checked (login, change-password): refuses with 429 when the username
 * or the client IP is over its limit, and otherwise records the attempt as a failure up front.
 * Count and insert run under transaction locks on both keys (always IP first, then username),
 * so parallel attempts queue for a moment and each sees the ones before it: a burst cannot
 * slip past the limit. The locks are released before the slow password hash is verified.
 */
export async function reservePasswordAttempt(deps: ServiceDeps, input: { username: string; ip: string }) {
  const username = throttleUsername(input.username);
  const { config } = deps;
  await deps.db.transaction(async (tx) => {
    await tx.execute(sql`
      select pg_advisory_xact_lock(hashtextextended(${`login-ip:${input.ip}`}, 0)),
             pg_advisory_xact_lock(hashtextextended(${`login-user:${username}`}, 0))`);
    const waitUser = await blockedFor(deps, tx, 'username', username, config.LOGIN_MAX_FAILURES_PER_USER);
    const waitIp = await blockedFor(deps, tx, 'ip', input.ip, config.LOGIN_MAX_FAILURES_PER_IP);
    const wait = Math.max(waitUser, waitIp);
    if (wait > 0)
      throw new TooManyRequestsError(
        'Too many failed password attempts; try again later',
        wait,
        REASON.LOGIN_THROTTLED,
      );
    await tx.insert(schema.loginFailures).values({ username, ip: input.ip, failedAt: deps.now() });
  });
}

/** The password was right: the username's failures, this attempt's reservation included, are forgotten. */
export async function clearPasswordFailures(tx: Executor, username: string) {
  await tx.execute(sql`delete from login_failures where username = ${throttleUsername(username)}`);
}

/** Drops failures older than the window; run by the `auth.prune-login-failures` schedule, not per request. */
export async function pruneLoginFailures(deps: ServiceDeps): Promise<{ pruned: number }> {
  const result = await deps.db.execute(sql`
    delete from login_failures
     where failed_at < ${deps.now().toISOString()}::timestamptz - make_interval(secs => ${deps.config.LOGIN_FAILURE_WINDOW})`);
  return { pruned: result.count };
}
