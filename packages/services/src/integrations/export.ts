import type { ListCustomersInput, ListOrdersInput } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { type SQL, sql } from 'drizzle-orm';
import { type AnyPgColumn, PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import type { Caller } from '../actor.ts';
import { customerFilters } from '../commerce/customers-read.ts';
import { orderFilters } from '../commerce/orders/read.ts';
import type { ServiceDeps } from '../deps.ts';
import { csvField, csvLine } from './csv.ts';

export type ExportFormat = 'csv' | 'ndjson';

const { customers, customerLevels, customerRfm, users, orders } = schema;

/** Renders the queries the way the application's drizzle instance does (snake_case columns). */
const dialect = new PgDialect({ casing: 'snake_case' });

/**
 * Rows fetched per round trip: memory stays flat however many rows match (a few MB a batch), and
 * a million rows take a hundred round trips rather than a thousand.
 */
const BATCH = 10_000;

/** Export columns, in order: the CSV header and the NDJSON keys. The importer reads the same names. */
export const CUSTOMER_EXPORT_COLUMNS = [
  'id',
  'firstName',
  'lastName',
  'phone',
  'email',
  'birthday',
  'gender',
  'address',
  'notes',
  'status',
  'level',
  'ownerUsername',
  'smsOptIn',
  'smsConsentSource',
  'smsConsentAt',
  'timeZone',
  'orderCount',
  'totalSpent',
  'lastOrderAt',
  'rfmSegment',
  'createdAt',
] as const;

export const ORDER_EXPORT_COLUMNS = [
  'id',
  'number',
  'customerId',
  'customerName',
  'customerPhone',
  'status',
  'currency',
  'subtotal',
  'discount',
  'total',
  'createdAt',
  'paidAt',
  'cancelledAt',
] as const;

type Row = Record<string, unknown>;
/** A cursor's batch; the first one also describes the query's columns. */
type Batch<T> = T[] & { columns?: postgres.ColumnList<string> };

/**
 * The rows of a query in batches, through a cursor. postgres.js's iterator form reports a
 * connection lost between two batches as the end of the rows, which would end an export early
 * but cleanly; its callback form rejects instead, so this bridges the callback form to an
 * iterator. One batch is fetched ahead while the consumer formats and writes the current one
 * (PostgreSQL and Node work at the same time); the cursor then waits until the consumer takes
 * it, so at most two batches are held. Returning early closes the cursor.
 */
async function* cursorBatches<T>(
  client: postgres.Sql,
  text: string,
  params: unknown[],
  { values }: { values: boolean },
): AsyncGenerator<Batch<T>> {
  let next = Promise.withResolvers<Batch<T> | null>();
  next.promise.catch(() => {});
  let proceed: ((signal?: unknown) => void) | undefined;
  let closing = false;
  const query = client.unsafe(text, params as never[]);
  // Values: each row an array in the query's column order (cheaper to build than an object).
  const pending = (values ? query.values() : query) as unknown as postgres.PendingQuery<postgres.Row[]>;
  const finished = pending.cursor(BATCH, (rows: postgres.Row[]) => {
    // The consumer left while this batch was on its way: close instead of waiting for it.
    if (closing) return client.CLOSE;
    const handing = next;
    // The cursor fetches the next batch when this settles; sql.CLOSE instead closes it.
    return new Promise<unknown>((resolve) => {
      proceed = resolve;
      handing.resolve(rows as unknown as Batch<T>);
    });
  });
  finished.then(
    () => next.resolve(null),
    (error: unknown) => next.reject(error),
  );
  try {
    for (;;) {
      const rows = await next.promise;
      if (!rows) return;
      next = Promise.withResolvers<Batch<T> | null>();
      next.promise.catch(() => {});
      const fetchNext = proceed;
      proceed = undefined;
      fetchNext?.();
      yield rows;
    }
  } finally {
    closing = true;
    proceed?.(client.CLOSE);
    await finished.catch(() => {});
  }
}

/**
 * One CSV line of a row (its cells in the query's order; `order` gives the position of each
 * export column), without the intermediate arrays of `csvLine` (a million rows add up).
 */
function csvRow(row: unknown[], order: readonly number[]): string {
  let line = csvField(row[order[0] as number]);
  for (let index = 1; index < order.length; index++) line += `,${csvField(row[order[index] as number])}`;
  return `${line}\r\n`;
}

/**
 * Runs the query on the exports' pool. The CSV header goes out with the first batch, so a query
 * that fails before its first row fails the first `next()` and nothing has been sent.
 */
async function* stream(
  deps: ServiceDeps,
  query: SQL,
  columns: readonly string[],
  format: ExportFormat,
  integers: readonly string[],
): AsyncGenerator<string> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const client = (deps.exportDb ?? deps.db).$client;
  if (format === 'ndjson') {
    // The row is keyed by the export's column names, in order (the query's aliases), and SQL NULL
    // arrives as null. Money and order numbers (bigint, read as text) are JSON integers, as in the
    // API: exact, since sums stay within 2^53 - 1.
    for await (const rows of cursorBatches<Row>(client, text, params, { values: false }))
      yield rows
        .map((row) => {
          for (const column of integers) if (typeof row[column] === 'string') row[column] = Number(row[column]);
          return `${JSON.stringify(row)}\n`;
        })
        .join('');
    return;
  }
  let header = csvLine(columns);
  // Where each export column is among the query's (named by its aliases); the first batch tells.
  let order: number[] | undefined;
  for await (const rows of cursorBatches<unknown[]>(client, text, params, { values: true })) {
    order ??= columns.map((name) => rows.columns?.findIndex((column) => column.name === name) ?? -1);
    let chunk = header;
    header = '';
    for (const row of rows) chunk += csvRow(row, order);
    yield chunk;
  }
  if (header) yield header;
}

const iso = (column: AnyPgColumn | SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Customers matching the list's filters, in the caller's scope, streamed through a cursor. */
export function exportCustomers(
  deps: ServiceDeps,
  { scope }: Caller,
  { filters, format }: { filters: Omit<ListCustomersInput, 'page' | 'pageSize' | 'sort'>; format: ExportFormat },
): AsyncGenerator<string> {
  const query = sql`
    select ${customers.id} as "id", ${customers.firstName} as "firstName", ${customers.lastName} as "lastName",
           ${customers.phone} as "phone", ${customers.email} as "email", ${customers.birthday}::text as "birthday",
           ${customers.gender} as "gender", ${customers.address} as "address", ${customers.notes} as "notes",
           ${customers.status} as "status", ${customerLevels.name} as "level", ${users.username} as "ownerUsername",
           ${customers.smsOptIn} as "smsOptIn", consent.source::text as "smsConsentSource",
           ${iso(sql`consent.occurred_at`)} as "smsConsentAt", ${customers.timeZone} as "timeZone",
           ${customers.orderCount} as "orderCount",
           ${customers.totalSpent}::text as "totalSpent", ${iso(customers.lastOrderAt)} as "lastOrderAt",
           ${customerRfm.segment} as "rfmSegment", ${iso(customers.createdAt)} as "createdAt"
      from ${customers}
      join ${users} on ${users.id} = ${customers.ownerId}
      left join ${customerRfm} on ${customerRfm.customerId} = ${customers.id}
      left join ${customerLevels} on ${customerLevels.id} = ${customerRfm.levelId}
      -- The entry behind the current marketing consent: where it came from, and when.
      left join lateral (select source, occurred_at from consent_events e
                          where e.customer_id = ${customers.id} and e.purpose = 'marketing'
                          order by e.occurred_at desc, e.seq desc limit 1) consent on true
     where ${customerFilters(scope, filters) ?? sql`true`}
     order by ${customers.createdAt}, ${customers.id}`;
  return stream(deps, query, CUSTOMER_EXPORT_COLUMNS, format, ['totalSpent']);
}

/** Orders matching the list's filters, in the caller's scope, streamed through a cursor. */
export function exportOrders(
  deps: ServiceDeps,
  { scope }: Caller,
  { filters, format }: { filters: Omit<ListOrdersInput, 'page' | 'pageSize' | 'sort'>; format: ExportFormat },
): AsyncGenerator<string> {
  const query = sql`
    select ${orders.id} as "id", ${orders.number} as "number", ${orders.customerId} as "customerId",
           ${customers.firstName} || ' ' || ${customers.lastName} as "customerName", ${customers.phone} as "customerPhone",
           ${orders.status} as "status", ${orders.currency} as "currency", ${orders.subtotal}::text as "subtotal",
           ${orders.discount}::text as "discount", ${orders.total}::text as "total",
           ${iso(orders.createdAt)} as "createdAt", ${iso(orders.paidAt)} as "paidAt",
           ${iso(orders.cancelledAt)} as "cancelledAt"
      from ${orders}
      join ${customers} on ${customers.id} = ${orders.customerId}
     where ${orderFilters(scope, filters) ?? sql`true`}
     order by ${orders.createdAt}, ${orders.id}`;
  return stream(deps, query, ORDER_EXPORT_COLUMNS, format, ['number', 'subtotal', 'discount', 'total']);
}
