import { addRateLimitHits, type RateLimitHits, rateLimitWindowStart, type ServiceDeps } from '@touch-crm/services';

/** One limit a request counts against: its bucket (who, and which limit) and the most hits per window. */
export interface RateLimitBucket {
  bucket: string;
  limit: number;
}

export interface RateLimitCount {
  /** Hits left in this window (0 once the limit is reached or passed). */
  remaining: number;
  /** Seconds until the window ends and the count starts again. */
  resetSeconds: number;
  exceeded: boolean;
}

/** A bucket's count as this process knows it, in one window. */
interface KnownCount {
  windowStart: number;
  /** The shared count the database last answered (every process's hits); undefined before this process asked in this window. */
  shared: number | undefined;
  /** This process's hits not yet added to the shared count. */
  pending: number;
}

export interface RateLimitCounter {
  /** Counts one hit on each bucket and says where each stands. */
  count(buckets: readonly RateLimitBucket[]): Promise<RateLimitCount[]>;
  /** Adds every pending hit to the shared counts (one statement). */
  flush(): Promise<void>;
  /** Stops the periodic flush and flushes what is pending. */
  close(): Promise<void>;
}

export interface RateLimitCounterOptions {
  /** How often pending hits reach the shared counts. */
  flushIntervalMs?: number;
  /** The share of a limit one process may count on its own before asking the database. */
  slackRatio?: number;
}

/**
 * The rate-limit counts of one API process. Counting every request with its own statement made
 * every request of one principal wait on the same counter row; instead a process counts hits
 * itself while its bucket is far from the limit, adds them to the shared counter once a second
 * (one statement for all buckets), and counts in the database, exactly, a bucket's first hit in
 * a window, every hit once it is within 1 % of its limit, and whenever it holds 1 % of the limit
 * unsent. So a limit is never passed by more than 1 % per API process, and small limits
 * (under 100) are counted exactly.
 */
export function createRateLimitCounter(deps: ServiceDeps, options: RateLimitCounterOptions = {}): RateLimitCounter {
  const flushIntervalMs = options.flushIntervalMs ?? 1_000;
  const slackRatio = options.slackRatio ?? 0.01;
  const windowMs = deps.config.RATE_LIMIT_WINDOW * 1000;
  const known = new Map<string, KnownCount>();

  const knownCount = (bucket: string, windowStart: number): KnownCount => {
    let entry = known.get(bucket);
    if (!entry || entry.windowStart !== windowStart) {
      // A new window: what was pending in the last one no longer counts.
      entry = { windowStart, shared: undefined, pending: 0 };
      known.set(bucket, entry);
    }
    return entry;
  };

  const needsDatabase = (entry: KnownCount, limit: number) => {
    const slack = Math.floor(limit * slackRatio);
    return entry.shared === undefined || entry.pending + 1 > slack || entry.shared + entry.pending + 1 > limit - slack;
  };

  /** Sends hits and records the shared counts the database answers. */
  const send = async (windowStart: number, items: RateLimitHits[]) => {
    const totals = await addRateLimitHits(deps, windowStart, items);
    for (const total of totals) {
      const entry = known.get(total.bucket);
      if (entry && entry.windowStart === windowStart) entry.shared = Math.max(entry.shared ?? 0, total.hits);
    }
    return totals;
  };

  const flush = async () => {
    const windowStart = rateLimitWindowStart(deps);
    const items: RateLimitHits[] = [];
    for (const [bucket, entry] of known) {
      if (entry.windowStart !== windowStart) known.delete(bucket);
      else if (entry.pending > 0) {
        items.push({ bucket, hits: entry.pending });
        entry.pending = 0;
      }
    }
    await send(windowStart, items);
  };

  const timer = setInterval(() => {
    // While the database is away the hits are dropped: requests are not limited then either.
    flush().catch(() => {});
  }, flushIntervalMs);
  timer.unref();

  return {
    async count(buckets) {
      const windowStart = rateLimitWindowStart(deps);
      const now = deps.now().getTime();
      const entries = buckets.map(({ bucket }) => knownCount(bucket, windowStart));
      let hits: number[];
      if (buckets.some(({ limit }, index) => needsDatabase(entries[index] as KnownCount, limit))) {
        const items = buckets.map(({ bucket }, index) => {
          const entry = entries[index] as KnownCount;
          const item = { bucket, hits: entry.pending + 1 };
          entry.pending = 0;
          return item;
        });
        const totals = new Map((await send(windowStart, items)).map((total) => [total.bucket, total.hits]));
        hits = buckets.map(({ bucket }) => totals.get(bucket) ?? 1);
      } else {
        hits = entries.map((entry) => {
          entry.pending += 1;
          return (entry.shared ?? 0) + entry.pending;
        });
      }
      const resetSeconds = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      return buckets.map(({ limit }, index) => {
        const count = hits[index] ?? 0;
        return { remaining: Math.max(0, limit - count), resetSeconds, exceeded: count > limit };
      });
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush().catch(() => {});
    },
  };
}
