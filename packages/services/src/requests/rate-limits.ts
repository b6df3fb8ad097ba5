import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';

/** One limit a request counts against: its bucket (who, and which limit) and the most hits per window. */
export interface RateLimitBucket {
  bucket: string;
  limit: number;
}

export interface RateLimitCount {
  bucket: string;
  limit: number;
  /** Hits left in this window (0 once the limit is reached or passed). */
  remaining: number;
  /** Seconds until the window ends and the count starts again. */
  resetSeconds: number;
  exceeded: boolean;
}

/**
 * Counts one request against each bucket, in one statement: fixed windows of RATE_LIMIT_WINDOW
 * aligned to the epoch, one row per bucket that a new window resets. Shared by every API process.
 * A process whose clock lags keeps counting into the newer window (`greatest`) instead of resetting it.
 */
export async function countRequest(deps: ServiceDeps, buckets: readonly RateLimitBucket[]): Promise<RateLimitCount[]> {
  const windowMs = deps.config.RATE_LIMIT_WINDOW * 1000;
  const now = deps.now().getTime();
  const windowStart = new Date(now - (now % windowMs));
  const names = buckets.map((item) => item.bucket);
  // The hot path of every request: a postgres.js tagged query is prepared once per connection.
  // Drizzle's client sends and reads timestamps as text.
  const rows = await deps.db.$client<{ bucket: string; hits: number; window_start: string }[]>`
    insert into rate_limit_counters as c (bucket, window_start, hits)
    select bucket, ${windowStart.toISOString()}::timestamptz, 1 from unnest(${names}::text[]) as bucket
        on conflict (bucket) do update
       set hits = case when c.window_start >= excluded.window_start then c.hits + 1 else 1 end,
           window_start = greatest(c.window_start, excluded.window_start)
    returning bucket, hits, window_start`;
  const byBucket = new Map(rows.map((row) => [row.bucket, row]));
  return buckets.map(({ bucket, limit }) => {
    const row = byBucket.get(bucket);
    const hits = row?.hits ?? 1;
    const windowEnd = (row ? new Date(row.window_start).getTime() : windowStart.getTime()) + windowMs;
    return {
      bucket,
      limit,
      remaining: Math.max(0, limit - hits),
      resetSeconds: Math.max(1, Math.ceil((windowEnd - now) / 1000)),
      exceeded: hits > limit,
    };
  });
}

/** Counters of windows already over; run by the `requests.prune` schedule with the expired idempotency keys. */
export async function pruneRateLimitCounters(deps: ServiceDeps): Promise<number> {
  const result = await deps.db.execute(sql`
    delete from rate_limit_counters
     where window_start < ${deps.now().toISOString()}::timestamptz - make_interval(secs => ${deps.config.RATE_LIMIT_WINDOW})`);
  return result.count;
}
