import { createRateLimitCounter, type RateLimitCounter } from '@touch-crm/api';
import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// No periodic flush during a test: each flushes when it means to.
const NEVER = 3_600_000;
const HOUR = '1h';

let api: TestApi;
const counters: RateLimitCounter[] = [];
beforeAll(async () => {
  api = await startTestApi({ env: { RATE_LIMIT_WINDOW: HOUR } });
});
afterEach(async () => {
  await Promise.all(counters.splice(0).map((counter) => counter.close()));
});
afterAll(async () => {
  await api?.close();
});

/** One API process's counts, as the server builds them. */
const process = () => {
  const counter = createRateLimitCounter(api.deps, { flushIntervalMs: NEVER });
  counters.push(counter);
  return counter;
};

async function sharedHits(bucket: string): Promise<number> {
  const rows = await api.deps.db.execute<{ hits: number }>(
    sql`select hits from rate_limit_counters where bucket = ${bucket}`,
  );
  return rows[0]?.hits ?? 0;
}

describe('a bucket far from its limit', () => {
  it('is counted by the process itself after its first hit, and reaches the shared count when flushed', async () => {
    const counter = process();
    const bucket = `far-${crypto.randomUUID()}`;
    let last = { remaining: 0 };
    for (let i = 0; i < 50; i++) [last = last] = await counter.count([{ bucket, limit: 10_000 }]);
    expect(last.remaining).toBe(10_000 - 50);
    // Only the first hit of the window asked the database.
    expect(await sharedHits(bucket)).toBe(1);
    await counter.flush();
    expect(await sharedHits(bucket)).toBe(50);
  });

  it('starts from what the other processes counted: a process asks the database on its first hit', async () => {
    const [first, second] = [process(), process()];
    const bucket = `shared-${crypto.randomUUID()}`;
    for (let i = 0; i < 100; i++) await first.count([{ bucket, limit: 10_000 }]);
    await first.flush();
    const [count] = await second.count([{ bucket, limit: 10_000 }]);
    expect(count?.remaining).toBe(10_000 - 101);
  });

  it('is flushed when the process closes', async () => {
    const counter = createRateLimitCounter(api.deps, { flushIntervalMs: NEVER });
    const bucket = `closing-${crypto.randomUUID()}`;
    for (let i = 0; i < 20; i++) await counter.count([{ bucket, limit: 10_000 }]);
    await counter.close();
    expect(await sharedHits(bucket)).toBe(20);
  });
});

describe('a bucket near its limit', () => {
  it('is counted in the database on every hit: two processes pass the limit by at most 1 % each', async () => {
    const [first, second] = [process(), process()];
    const bucket = `near-${crypto.randomUUID()}`;
    const limit = 200;
    let allowed = 0;
    for (let i = 0; i < 300; i++) {
      const [count] = await (i % 2 === 0 ? first : second).count([{ bucket, limit }]);
      if (!count?.exceeded) allowed++;
    }
    expect(allowed).toBeGreaterThanOrEqual(limit);
    expect(allowed).toBeLessThanOrEqual(limit + 2 * (limit / 100));
    await Promise.all([first.flush(), second.flush()]);
    expect(await sharedHits(bucket)).toBe(300);
  });

  it('of under 100 hits is counted exactly, every hit in the database', async () => {
    const counter = process();
    const bucket = `small-${crypto.randomUUID()}`;
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push((await counter.count([{ bucket, limit: 5 }]))[0]);
    expect(answers.map((count) => count?.exceeded)).toEqual([false, false, false, false, false, true, true]);
    expect(await sharedHits(bucket)).toBe(7);
  });
});
