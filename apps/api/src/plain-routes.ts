import type { HttpBindings } from '@hono/node-server';
import { customerExportInput, orderExportInput, type PermissionKey } from '@touch-crm/contract';
import {
  assertPasswordChanged,
  authenticateRequest,
  type DomainError,
  domainErrorOf,
  exportCustomers,
  exportOrders,
  ForbiddenError,
  resolveScope,
  retryAfterSecondsOf,
  type Scope,
  type ServiceDeps,
  ValidationError,
} from '@touch-crm/services';
import type { Hono, Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { clientIp } from './client-ip.ts';
import { ExportSlots, streamExport } from './export-stream.ts';

const STATUS: Record<DomainError['kind'], 400 | 401 | 403 | 404 | 409 | 429 | 503> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** The same error body the tRPC and REST transports give, for routes where JSON procedures do not fit. */
export function errorResponse(c: HonoContext, error: unknown, log: Logger): Response {
  const requestId = c.get('requestId' as never) as string;
  const domain = domainErrorOf(error);
  if (domain) {
    const issues = domain instanceof ValidationError ? domain.issues : undefined;
    const details = domain.details;
    const retryAfter = retryAfterSecondsOf(domain);
    if (retryAfter) c.header('Retry-After', String(retryAfter));
    return c.json(
      {
        message: domain.message,
        code: domain.kind,
        data: { requestId, ...(issues ? { issues } : {}), ...(details ? { details } : {}) },
        issues,
      },
      STATUS[domain.kind],
    );
  }
  log.error({ err: error, requestId }, 'unhandled error');
  return c.json({ message: 'Internal server error', code: 'INTERNAL_SERVER_ERROR', data: { requestId } }, 500);
}

/** Bearer token or API key, then a permission, then the scope of an owned resource's read permission. */
export async function authorize(
  deps: ServiceDeps,
  c: HonoContext,
  permission: PermissionKey,
  read: 'customers:read' | 'orders:read',
) {
  const user = await authenticateRequest(deps, {
    authorization: c.req.header('authorization'),
    apiKey: c.req.header('x-api-key'),
    ip: clientIp(c, { trustProxy: deps.config.TRUST_PROXY, hops: deps.config.TRUST_PROXY_HOPS }),
  });
  assertPasswordChanged(deps, user);
  if (!user.permissions.has(permission)) throw new ForbiddenError();
  const scope: Scope | null = resolveScope(user.permissions, read, user.id);
  if (!scope) throw new ForbiddenError();
  return { user, scope };
}

export function parseQuery<T extends z.ZodType>(schema: T, c: HonoContext): z.infer<T> {
  const result = schema.safeParse(Object.fromEntries(new URL(c.req.url).searchParams));
  if (!result.success)
    throw new ValidationError(
      result.error.issues.map((issue) => ({ path: issue.path.map((p) => String(p)), message: issue.message })),
    );
  return result.data;
}

/**
 * Plain HTTP routes beside the procedures, where JSON does not fit: CSV/NDJSON exports that
 * stream through a database cursor, so a million rows never sit in memory. Each takes a slot
 * (per process and per user) for as long as it streams. Mounted before the REST mirror so
 * `/customers/export` is not read as `/customers/{id}`.
 */
export function mountPlainRoutes<E extends object>(
  app: Hono<E & { Variables: { requestId: string } }>,
  deps: ServiceDeps,
  log: Logger,
) {
  const slots = new ExportSlots({
    perProcess: deps.config.EXPORT_MAX_CONCURRENT,
    perUser: deps.config.EXPORT_MAX_PER_USER,
  });
  /** Takes a slot, then streams `start(format)` once its query produced a first chunk. */
  const exportRoute = async (
    c: HonoContext,
    userId: string,
    csv: boolean,
    filename: string,
    start: () => AsyncGenerator<string>,
  ) =>
    streamExport({
      release: slots.acquire(userId),
      chunks: start(),
      headers: csv
        ? { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}.csv"` }
        : { 'content-type': 'application/x-ndjson; charset=utf-8' },
      idleTimeoutMs: deps.config.EXPORT_IDLE_TIMEOUT,
      abortConnection: () => {
        const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
        // Ended already: another response (the request timeout's) went out; its socket may serve others.
        if (outgoing && !outgoing.writableEnded) outgoing.destroy();
        return Boolean(outgoing);
      },
      log: log.child({ requestId: c.get('requestId' as never) }),
    });

  app.get('/api/v1/customers/export', async (c) => {
    try {
      const { user, scope } = await authorize(deps, c, 'customers:export', 'customers:read');
      const { format: as, ...filters } = parseQuery(customerExportInput, c);
      const format = as === 'csv' ? 'csv' : 'ndjson';
      return await exportRoute(c, user.id, as === 'csv', 'customers', () =>
        exportCustomers(deps, scope, filters, format),
      );
    } catch (error) {
      return errorResponse(c, error, log);
    }
  });
  app.get('/api/v1/orders/export', async (c) => {
    try {
      const { user, scope } = await authorize(deps, c, 'customers:export', 'orders:read');
      const { format: as, ...filters } = parseQuery(orderExportInput, c);
      const format = as === 'csv' ? 'csv' : 'ndjson';
      return await exportRoute(c, user.id, as === 'csv', 'orders', () => exportOrders(deps, scope, filters, format));
    } catch (error) {
      return errorResponse(c, error, log);
    }
  });
}
