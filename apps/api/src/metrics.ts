import type { Context as HonoContext } from 'hono';
import { routePath } from 'hono/route';
import { TrieRouter } from 'hono/router/trie-router';
import type postgres from 'postgres';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The label every request that matched no route shares, so random paths add no series. */
export const UNMATCHED_ROUTE = 'unmatched';
export const TRPC_BATCH_ROUTE = '/trpc/batch';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RouteSources {
  /** The REST mirror's prefix and its operations, each a method and an OpenAPI path (`/customers/{id}`). */
  restPrefix: string;
  restOperations: Iterable<{ method: string; path: string }>;
  /** Every tRPC procedure name (`customers.list`). */
  procedures: Iterable<string>;
}

/**
 * Turns a request into a route label of bounded cardinality: the pattern of the route that
 * answered it (for the REST mirror the OpenAPI path template, for tRPC the procedure name), never
 * the raw path. Anything that no route matched is `unmatched`.
 */
export function createRouteLabeler({ restPrefix, restOperations, procedures }: RouteSources) {
  const rest = new TrieRouter<string>();
  for (const { method, path } of restOperations)
    rest.add(method.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1'), `${restPrefix}${path}`);
  const known = new Set(procedures);

  const trpcLabel = (path: string) => {
    const names = path.slice('/trpc/'.length);
    if (names.includes(',')) return TRPC_BATCH_ROUTE;
    return known.has(names) ? `/trpc/${names}` : UNMATCHED_ROUTE;
  };
  const restLabel = (method: string, path: string) => {
    const [matches] = rest.match(method, path.slice(restPrefix.length) || '/');
    return (matches[0]?.[0] as string | undefined) ?? UNMATCHED_ROUTE;
  };

  /** Call after the handlers ran: Hono's route index then points at the route that answered. */
  return (c: HonoContext): string => {
    const pattern = routePath(c);
    if (pattern === '/trpc/*') return trpcLabel(c.req.path);
    if (pattern === `${restPrefix}/*`) return restLabel(c.req.method, c.req.path);
    // Middleware (`/*`, `*`) answering means no route matched: not found, CORS preflight, limits.
    if (!pattern || pattern.includes('*')) return UNMATCHED_ROUTE;
    return pattern.replace(/:(\w+)/g, '{$1}');
  };
}

/**
 * Prometheus metrics for one app instance: Node's default process metrics, the request latency
 * histogram, and, computed at scrape time, SMS counts per status and job counts per queue and state.
 */
export function createMetrics(sql: postgres.Sql) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'touch_crm_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'touch_crm_messages',
    help: 'SMS messages by status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await sql<{ status: string; count: number }[]>`
        select status::text, count(*)::int as count from message_queue group by status`.catch(() => []);
      for (const row of rows) this.set({ status: row.status }, row.count);
    },
  });
  new Gauge({
    name: 'touch_crm_jobs',
    help: 'Background jobs by queue and state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      // The pgboss schema is missing until the worker (or the API's sender) first starts.
      const rows = await sql<{ name: string; state: string; count: number }[]>`
        select name, state::text, count(*)::int as count from pgboss.job group by name, state`.catch(() => []);
      for (const row of rows) this.set({ queue: row.name, state: row.state }, row.count);
    },
  });

  return {
    registry,
    observe(method: string, route: string, status: number, seconds: number) {
      requests.observe({ method: METHODS.has(method) ? method : 'OTHER', route, status: String(status) }, seconds);
    },
  };
}
