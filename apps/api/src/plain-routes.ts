import { customerExportInput, orderExportInput } from '@touch-crm/contract';
import type { PermissionKey } from '@touch-crm/db';
import {
  assertPasswordChanged,
  authenticate,
  DomainError,
  exportCustomers,
  exportOrders,
  ForbiddenError,
  resolveScope,
  type Scope,
  type ServiceDeps,
  UnauthorizedError,
  ValidationError,
} from '@touch-crm/services';
import type { Hono, Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import type { z } from 'zod';

const STATUS: Record<DomainError['kind'], 400 | 401 | 403 | 404 | 409 | 429> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_MANY_REQUESTS: 429,
};

/** The same error body the tRPC and REST transports give, for routes where JSON procedures do not fit. */
export function errorResponse(c: HonoContext, error: unknown, log: Logger): Response {
  const requestId = c.get('requestId' as never) as string;
  if (error instanceof DomainError) {
    const issues = error instanceof ValidationError ? error.issues : undefined;
    return c.json(
      {
        message: error.message,
        code: error.kind,
        data: { requestId, ...(issues ? { issues } : {}), ...(error.details ? { details: error.details } : {}) },
        issues,
      },
      STATUS[error.kind],
    );
  }
  log.error({ err: error, requestId }, 'unhandled error');
  return c.json({ message: 'Internal server error', code: 'INTERNAL_SERVER_ERROR', data: { requestId } }, 500);
}

/** Bearer token, then a permission, then the scope of an owned resource's read permission. */
export async function authorize(
  deps: ServiceDeps,
  c: HonoContext,
  permission: PermissionKey,
  read: 'customers:read' | 'orders:read',
) {
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  if (!token) throw new UnauthorizedError();
  const user = await authenticate(deps, token);
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

function streamResponse(chunks: AsyncGenerator<string>, csv: boolean, filename: string): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(body, {
    headers: csv
      ? { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}.csv"` }
      : { 'content-type': 'application/x-ndjson; charset=utf-8' },
  });
}

/**
 * Plain HTTP routes beside the procedures, where JSON does not fit: CSV/NDJSON exports that
 * stream through a database cursor, so a million rows never sit in memory. Mounted before the
 * REST mirror so `/customers/export` is not read as `/customers/{id}`.
 */
export function mountPlainRoutes<E extends object>(
  app: Hono<E & { Variables: { requestId: string } }>,
  deps: ServiceDeps,
  log: Logger,
) {
  app.get('/api/v1/customers/export', async (c) => {
    try {
      const { scope } = await authorize(deps, c, 'customers:export', 'customers:read');
      const { format: as, ...filters } = parseQuery(customerExportInput, c);
      return streamResponse(
        exportCustomers(deps, scope, filters, as === 'csv' ? 'csv' : 'ndjson'),
        as === 'csv',
        'customers',
      );
    } catch (error) {
      return errorResponse(c, error, log);
    }
  });
  app.get('/api/v1/orders/export', async (c) => {
    try {
      const { scope } = await authorize(deps, c, 'customers:export', 'orders:read');
      const { format: as, ...filters } = parseQuery(orderExportInput, c);
      return streamResponse(
        exportOrders(deps, scope, filters, as === 'csv' ? 'csv' : 'ndjson'),
        as === 'csv',
        'orders',
      );
    } catch (error) {
      return errorResponse(c, error, log);
    }
  });
}
