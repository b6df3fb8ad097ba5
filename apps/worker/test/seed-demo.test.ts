import { spawnSync } from 'node:child_process';
import { connectDatabase } from '@touch-crm/db';
import { createTestDatabase, programFile } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  database = await createTestDatabase(inject('databaseServerUrl'));
});
afterAll(() => database?.drop());

const seedDemo = (env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [programFile('seed-demo'), '--customers', '300'], {
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', NODE_ENV: 'development', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });

// Each run is a fresh Node process loading the app: as long as the run's own timeout on a busy machine.
describe('pnpm seed:demo', { timeout: 120_000 }, () => {
  it('is refused in production', () => {
    const result = seedDemo({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('production');
  });

  it('fills an empty database with a believable company, prints the logins, then refuses to run again', async () => {
    const first = seedDemo();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('demo.manager');
    expect(first.stdout).toContain('Demo1234!');

    const handle = connectDatabase(database.url, { max: 1 });
    try {
      const [counts] = await handle.sql`
        select (select count(*)::int from users where username like 'demo.%') as users,
               (select count(*)::int from customers) as customers,
               (select count(distinct status)::int from customers) as statuses,
               (select count(*)::int from orders) as orders,
               (select count(*)::int from order_items) as items,
               (select count(distinct level_id)::int from customer_rfm where level_id is not null) as levels,
               (select count(*)::int from customer_rfm where segment is not null) as segmented,
               (select count(distinct condition_type)::int from promotions) as promotion_kinds,
               (select count(distinct status)::int from projects) as project_states,
               (select count(distinct status)::int from tasks) as task_states,
               (select count(*)::int from work_logs where type <> 'SYSTEM') as work_logs,
               (select array_agg(status::text order by status::text) from campaigns) as campaigns`;
      expect(counts).toMatchObject({
        users: 4,
        customers: 300,
        statuses: 4,
        promotion_kinds: 5,
        project_states: 5,
        task_states: 4,
        campaigns: ['COMPLETED', 'SCHEDULED'],
      });
      expect(counts?.orders).toBeGreaterThan(300);
      expect(counts?.items).toBe(counts?.orders);
      expect(counts?.levels).toBeGreaterThan(1);
      expect(counts?.segmented).toBeGreaterThan(0);
      expect(counts?.work_logs).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }

    const again = seedDemo();
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already there');
  });
});
