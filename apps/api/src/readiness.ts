import { type Database, migrationsApplied } from '@touch-crm/db';
import type { Context as HonoContext } from 'hono';

/** The longest /readyz takes to answer, whatever state the database is in. */
export const READINESS_DEADLINE_MS = 2_000;

type Readiness = 'ready' | 'migrations pending' | 'database unreachable';

/**
 * The /readyz handler: ready when the database answers and the migrations are applied.
 * A database that neither answers nor refuses (or a saturated pool) makes the probe
 * report unreachable at the deadline rather than hold the load balancer's check.
 */
export function readinessProbe(sql: Database['$client']) {
  let migrated = false;
  const probe = async (): Promise<Readiness> => {
    await sql`select 1`;
    migrated ||= await migrationsApplied(sql);
    return migrated ? 'ready' : 'migrations pending';
  };
  return async (c: HonoContext) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Readiness>((resolve) => {
      timer = setTimeout(() => resolve('database unreachable'), READINESS_DEADLINE_MS);
    });
    const status = await Promise.race([probe().catch((): Readiness => 'database unreachable'), deadline]).finally(() =>
      clearTimeout(timer),
    );
    return c.json({ status }, status === 'ready' ? 200 : 503);
  };
}
