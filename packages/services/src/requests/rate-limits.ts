import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';

/** Hits to add to one bucket's count in the current window. */
export interface RateLimitHits {
  bucket: string;
  hits: number;
}

/** A bucket's shared count after adding hits: every API process's hits in the window that starts at `windowStart`. */
export interface RateLimitTotal {
  bucket: string;
  hits: number;
  /** Epoch milliseconds. */
  windowStart: number;
}

/** The start (epoch ms) of the fixed window, aligned to the epoch, that `now` falls in. */
export function rateLimitWindowStart(deps: Pick<ServiceDeps, 'config' | 'now'>): number {
  const windowMs = deps.config.RATE_LIMIT_WINDOW * 1000;
  const now = deps.now().getTime();
  return now - (now % windowMs);
}

/**
 * Adds hits to buckets in one statement and returns their shared counts: fixed windows of
 * RATE_LIMIT_WINDOW, one row per bucket that a new window resets. Shared by every API process.
 * A process whose clock lags keeps counting into the newer window (`greatest`) instead of resetting it.
 */
export async function addRateLimitHits(
  deps: ServiceDeps,
  windowStart: number,
  items: readonly RateLimitHits[],
): Promise<RateLimitTotal[]> {
  if (items.length === 0) return [];
  // A postgres.js tagged query is prepared once per connection. Drizzle's client sends and reads timestamps as text.
  const rows = await deps.db.$client<{ bucket: string; hits: number; window_start: string }[]>`
    insert into rate_limit_counters as c (bucket, window_start, hits)
    select bucket, ${new Date(windowStart).toISOString()}::timestamptz, hits
      from unnest(${items.map((item) => item.bucket)}::text[], ${items.map((item) => item.hits)}::int[]) as i (bucket, hits)
        on conflict (bucket) do update
       set hits = case when c.window_start >= excluded.window_start then c.hits + excluded.hits else excluded.hits end,
           window_start = greatest(c.window_start, excluded.window_start)
    returning bucket, hits, window_start`;
  return rows.map((row) => ({ bucket: row.bucket, hits: row.hits, windowStart: new Date(row.window_start).getTime() }));
}

/** Counters of windows already over; run by the `requests.prune` schedule with the expired idempotency keys. */
export async function pruneRateLimitCounters(deps: ServiceDeps): Promise<number> {
  const result = await deps.db.execute(sql`
    delete from rate_limit_counters
     where window_start < ${deps.now().toISOString()}::timestamptz - make_interval(secs => ${deps.config.RATE_LIMIT_WINDOW})`);
  return result.count;
}
