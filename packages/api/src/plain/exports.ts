import { customerExportInput, orderExportInput } from '@touch-crm/contract';
import { exportCustomers, exportOrders, type ServiceDeps } from '@touch-crm/services';
import { authorize } from '../authorize.ts';
import type { Context } from '../context.ts';
import { ExportSlots, streamExport } from './export-stream.ts';
import { answering, type Connection, type PlainRoute, parseQuery } from './route.ts';

/**
 * CSV/NDJSON exports that stream through a database cursor, so a million rows never sit in
 * memory. Each takes a slot (per process and per user) for as long as it streams.
 */
export function exportRoutes(deps: ServiceDeps): PlainRoute[] {
  const slots = new ExportSlots({
    perProcess: deps.config.EXPORT_MAX_CONCURRENT,
    perUser: deps.config.EXPORT_MAX_PER_USER,
  });
  /** Takes a slot, then streams `chunks` once its query produced a first chunk. */
  const streamed = (
    ctx: Context,
    connection: Connection,
    userId: string,
    csv: { filename: string } | null,
    start: () => AsyncGenerator<string>,
  ) =>
    streamExport({
      release: slots.acquire(userId),
      chunks: start(),
      headers: csv
        ? {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': `attachment; filename="${csv.filename}.csv"`,
          }
        : { 'content-type': 'application/x-ndjson; charset=utf-8' },
      idleTimeoutMs: deps.config.EXPORT_IDLE_TIMEOUT,
      abortConnection: connection.abort,
      log: ctx.log,
    });

  return [
    {
      method: 'GET',
      path: '/customers/export',
      handle: answering(async (request, ctx, connection) => {
        const caller = await authorize(deps, ctx.credentials, {
          permissions: ['customers:export', 'customers:read'],
        });
        const { format, ...filters } = parseQuery(customerExportInput, request);
        const csv = format === 'csv' ? { filename: 'customers' } : null;
        return streamed(ctx, connection, caller.user.id, csv, () =>
          exportCustomers(deps, caller, { filters, format: csv ? 'csv' : 'ndjson' }),
        );
      }),
    },
    {
      method: 'GET',
      path: '/orders/export',
      handle: answering(async (request, ctx, connection) => {
        const caller = await authorize(deps, ctx.credentials, {
          permissions: ['customers:export', 'orders:read'],
        });
        const { format, ...filters } = parseQuery(orderExportInput, request);
        const csv = format === 'csv' ? { filename: 'orders' } : null;
        return streamed(ctx, connection, caller.user.id, csv, () =>
          exportOrders(deps, caller, { filters, format: csv ? 'csv' : 'ndjson' }),
        );
      }),
    },
  ];
}
