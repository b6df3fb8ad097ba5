import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDatabase, EMBEDDED_DATABASE_NAME, runMigrations, runSeed, startEmbeddedPostgres } from '@touch-crm/db';
import { generateDataset } from '@touch-crm/db/dataset';
import { hashPassword } from '@touch-crm/services';
import postgres from 'postgres';
import { ALL, loadCustomerDetail } from '../packages/services/src/commerce/customers-read.ts';
import { cpuMs, freePort } from './harness.ts';

/**
 * `node bench/customer-detail-sql.ts`: PostgreSQL CPU per execution of the customer detail
 * statement (`loadCustomerDetail`, prepared) beside the bench baseline's one-row select, one
 * connection, one statement at a time, on the quick dataset: the statement's own cost, without the
 * HTTP load's scheduling around it. CPU is the backend's user + sys from /proc (10 ms ticks).
 */
const EXECUTIONS = 6_000;
const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-detail-sql-'));
const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
const admin = postgres(server.url, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${EMBEDDED_DATABASE_NAME}`);
await admin.end();
const url = `${server.url.replace(/\/postgres$/, '')}/${EMBEDDED_DATABASE_NAME}`;
await runMigrations(url);
const database = connectDatabase(url, { max: 1 });
await runSeed(database.db, { hashPassword, adminPassword: 'Bench-admin-1!' });
const sql = database.db.$client;
const owners = await sql<{ id: string }[]>`select id from users`;
await generateDataset(
  postgres(url, { max: 1, onnotice: () => {} }),
  owners.map((o) => o.id),
  { customers: 10_000, ordersPerCustomer: 4, products: 100 },
);
await sql`analyze`;
const ids = (await sql<{ id: string }[]>`select id from customers order by random() limit 2000`).map((r) => r.id);
const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;

async function measure(name: string, run: (id: string) => Promise<unknown>) {
  for (let i = 0; i < 500; i++) await run(ids[i % ids.length] as string);
  const before = await cpuMs(backend?.pid);
  for (let i = 0; i < EXECUTIONS; i++) await run(ids[i % ids.length] as string);
  const after = await cpuMs(backend?.pid);
  console.log(`${name.padEnd(40)} ${(((after - before) / EXECUTIONS) * 1000).toFixed(1).padStart(6)} µs/exec`);
}
const now = new Date();
for (let round = 1; round <= 2; round++) {
  console.log(`round ${round}: PostgreSQL CPU per execution`);
  await measure(
    'baseline: select * from customers',
    (id) => sql`select * from customers where id = ${id} and deleted_at is null`,
  );
  await measure('loadCustomerDetail', (id) => loadCustomerDetail(database.db, ALL, id, now));
}
await database.close();
await server.stop();
await rm(dataDir, { recursive: true, force: true });
