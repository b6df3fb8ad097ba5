import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { customerDetailSchema, idSchema } from '@touch-crm/contract';
import { initTRPC } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { Hono } from 'hono';
import { z } from 'zod';
import { cpuMs, freePort, load1, median } from './harness.ts';
import { runLoad } from './load.ts';

/**
 * `node bench/stack-floor.ts [rounds]`: what the layers of the API's stack cost by themselves, with
 * no database, authentication or middleware: one customer answered from memory by a bare node:http
 * server, by Hono on @hono/node-server, by a tRPC query through the fetch adapter on Hono, and by the
 * same query with the contract's input and output schemas (`customers.get`'s). Each server is its own
 * process under the bench's closed-loop load (16 connections, as `pnpm bench`); the figures are its
 * requests a second and CPU µs per request (user + sys), rounds taken in turn.
 */

const CUSTOMER = customerDetailSchema.parse({
  id: '0195d2a0-1c3e-7a41-8d2b-5e6f7a8b9c0d',
  firstName: 'Ada',
  lastName: 'Lovelace',
  phone: '+17192000001',
  email: 'ada@example.com',
  birthday: '1815-12-10',
  gender: 'FEMALE',
  address: '12 St James Square, London',
  notes: 'Prefers SMS in the morning.',
  status: 'CUSTOMER',
  smsOptIn: true,
  timeZone: 'Europe/London',
  phoneUndeliverableAt: null,
  level: { id: '0195d2a0-1c3e-7a41-8d2b-5e6f7a8b9c01', name: 'Gold', rank: 3 },
  manualLevelId: null,
  owner: { id: '0195d2a0-1c3e-7a41-8d2b-5e6f7a8b9c02', fullName: 'Grace Hopper' },
  referredById: null,
  orderCount: 5,
  totalSpent: 123_450,
  lastOrderAt: '2026-11-01T10:00:00.000Z',
  rfm: { recency: 5, frequency: 4, monetary: 4, score: 13, segment: 'Champions', scoredAt: '2026-11-02T03:00:00.000Z' },
  createdAt: '2026-01-01T10:00:00.000Z',
  updatedAt: '2026-11-02T03:00:00.000Z',
  activePromotions: [],
});

const KINDS = ['node:http', 'hono', 'hono + trpc', 'hono + trpc + zod'] as const;
type Kind = (typeof KINDS)[number];

function serveKind(kind: Kind, port: number) {
  if (kind === 'node:http') {
    createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(CUSTOMER));
    }).listen(port, '127.0.0.1');
    return;
  }
  const app = new Hono();
  if (kind === 'hono') app.get('/customers/:id', (c) => c.json(CUSTOMER));
  else {
    const t = initTRPC.create();
    const get =
      kind === 'hono + trpc'
        ? t.procedure.query(() => CUSTOMER)
        : t.procedure
            .input(z.object({ id: idSchema }))
            .output(customerDetailSchema)
            .query(() => CUSTOMER);
    const router = t.router({ customers: t.router({ get }) });
    app.all('/trpc/*', (c) => fetchRequestHandler({ endpoint: '/trpc', req: c.req.raw, router }));
  }
  serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
}

if (process.argv[2] === '--serve') serveKind(process.argv[3] as Kind, Number(process.argv[4]));
else {
  const rounds = Number(process.argv[2] ?? 3);
  const servers: { kind: Kind; port: number; child: ChildProcess }[] = [];
  for (const kind of KINDS) {
    const port = await freePort();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind, String(port)], {
      stdio: 'inherit',
    });
    servers.push({ kind, port, child });
  }
  const input = encodeURIComponent(JSON.stringify({ id: CUSTOMER.id }));
  const pathOf = (kind: Kind) =>
    kind.includes('trpc') ? `/trpc/customers.get?input=${input}` : `/customers/${CUSTOMER.id}`;
  // Each answers once before the rounds: started, and its first request's compilation out of the figures.
  for (const { kind, port } of servers)
    for (;;) {
      const probe = await runLoad(`http://127.0.0.1:${port}`, () => ({ method: 'GET', path: pathOf(kind) }), {
        concurrency: 1,
        seconds: 0.2,
      }).catch(() => undefined);
      if (probe && probe.requests > 0 && probe.errors === 0) break;
    }
  const figures = new Map<Kind, { rps: number[]; cpuUs: number[] }>(
    KINDS.map((kind) => [kind, { rps: [], cpuUs: [] }]),
  );
  const loadBefore = await load1();
  for (let round = 0; round < rounds; round++)
    for (const { kind, port, child } of servers) {
      const before = await cpuMs(child.pid);
      const result = await runLoad(`http://127.0.0.1:${port}`, () => ({ method: 'GET', path: pathOf(kind) }), {
        concurrency: 16,
        seconds: 3,
      });
      if (result.errors > 0) throw new Error(`${kind}: ${result.errors} failed requests`);
      const figure = figures.get(kind);
      figure?.rps.push(Math.round(result.rps));
      figure?.cpuUs.push(Math.round((((await cpuMs(child.pid)) - before) / result.requests) * 1000));
    }
  for (const { child } of servers) child.kill();
  const bare = median(figures.get('node:http')?.rps ?? []);
  console.log(`load average ${loadBefore} → ${await load1()}`);
  for (const [kind, { rps, cpuUs }] of figures)
    console.log(
      `${kind.padEnd(18)} ${String(median(rps)).padStart(6)} req/s (${rps.join(' ')})  ${(median(rps) / bare).toFixed(2)}×  ` +
        `server CPU ${median(cpuUs)} µs/req (${cpuUs.join(' ')})`,
    );
}
