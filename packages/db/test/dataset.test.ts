import { randomBytes } from 'node:crypto';
import { connectDatabase, runMigrations, runSeed } from '@touch-crm/db';
import { generateDataset } from '@touch-crm/db/dataset';
import { hashPassword } from '@touch-crm/services';
import { withDatabase } from '@touch-crm/test-utils';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// As `pnpm seed:demo` meets it: a database owned, migrated and seeded by a role that is not a superuser.
const suffix = randomBytes(4).toString('hex');
const role = `dataset_owner_${suffix}`;
const name = `touch_crm_dataset_${suffix}`;
const password = randomBytes(12).toString('hex');
let admin: postgres.Sql;
let handle: ReturnType<typeof connectDatabase>;
beforeAll(async () => {
  admin = postgres(inject('databaseServerUrl'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create role ${role} login password '${password}'`);
  await admin.unsafe(`create database ${name} owner ${role}`);
  const url = new URL(withDatabase(inject('databaseServerUrl'), name));
  url.username = role;
  url.password = password;
  await runMigrations(url.toString());
  handle = connectDatabase(url.toString(), { max: 2 });
  await runSeed(handle.db, { hashPassword });
  // Like a statement-level audit trigger with a transition table: the load must fire it, not depend on its absence.
  await handle.sql.unsafe(`
    create table dataset_order_log (customer_id uuid not null references customers (id));
    create function dataset_order_log() returns trigger language plpgsql as $$
    begin
      insert into dataset_order_log select distinct customer_id from placed;
      return null;
    end $$;
    create trigger dataset_order_log after insert on orders referencing new table as placed
      for each statement execute function dataset_order_log();`);
});
afterAll(async () => {
  await handle?.close();
  await admin?.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.unsafe(`drop role if exists ${role}`);
  await admin?.end();
});

/** The schema's indexes, constraints (with whether they are validated) and triggers (with whether they are enabled). */
const schemaShape = () => handle.sql`
  select (select array_agg(indexdef order by indexdef) from pg_indexes where schemaname = 'public') as indexes,
         (select array_agg(c order by c) from (
            select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated as c
              from pg_constraint where connamespace = 'public'::regnamespace)) as constraints,
         (select array_agg(tgname || ' ' || tgenabled::text order by tgname) from pg_trigger where not tgisinternal) as triggers`;

/** What must hold whatever the size: stats that match the orders, a line per order, the trigger's log. */
const consistency = () => handle.sql`
  select (select count(*)::int from customers) as customers,
         (select count(*)::int from customers c
            cross join lateral (select count(*)::int as n, coalesce(sum(total), 0) as total, max(created_at) as at
                                  from orders o where o.customer_id = c.id) o
           where (c.order_count, c.total_spent, c.last_order_at) is distinct from (o.n, o.total, o.at)) as "statsOff",
         (select count(*)::int from orders o where not exists (select from order_items i where i.order_id = o.id)) as "ordersWithoutLine",
         (select count(*)::int from order_items) - (select count(*)::int from orders) as "extraLines",
         (select count(distinct customer_id)::int from orders) as buyers,
         (select count(distinct customer_id)::int from dataset_order_log) as logged,
         (select count(distinct status)::int from customers) as statuses,
         (select count(*)::int from customers where updated_at <> date_trunc('milliseconds', updated_at)) as "unroundedUpdatedAt"`;

describe('generateDataset', () => {
  it('fills empty tables as a role that is not a superuser, leaving every index, key and trigger as it was', async () => {
    const before = await schemaShape();
    const owners = (await handle.sql<{ id: string }[]>`select id from users`).map((u) => u.id);
    await generateDataset(handle.sql, owners, { customers: 2000, ordersPerCustomer: 4, products: 20 });
    expect(await schemaShape()).toEqual(before);
    const state = (await consistency())[0];
    expect(state).toMatchObject({
      customers: 2000,
      statsOff: 0,
      ordersWithoutLine: 0,
      extraLines: 0,
      statuses: 4,
      unroundedUpdatedAt: 0,
    });
    expect(state?.buyers).toBeGreaterThan(1000);
    expect(state?.logged).toBe(state?.buyers);
  });

  it('adds to tables that already have rows', async () => {
    const before = await schemaShape();
    const owners = (await handle.sql<{ id: string }[]>`select id from users`).map((u) => u.id);
    await generateDataset(handle.sql, owners, {
      customers: 500,
      ordersPerCustomer: 4,
      products: 20,
      activeCustomers: 100,
    });
    expect(await schemaShape()).toEqual(before);
    const state = (await consistency())[0];
    expect(state).toMatchObject({ customers: 2500, statsOff: 0, ordersWithoutLine: 0, extraLines: 0 });
    expect(state?.logged).toBe(state?.buyers);
  });
});
