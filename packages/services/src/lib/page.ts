import type { Page, SyncPage } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { and, asc, count, desc, getTableName, gt, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn, PgColumn, PgSelect, PgTable } from 'drizzle-orm/pg-core';
import type { ServiceDeps } from '../deps.ts';
import { type ListCursors, listCursors } from './sync-cursor.ts';

export interface PageInput {
  page: number;
  pageSize: number;
}

/** A list's `sort` value: a column key, `-` in front for descending. */
export type SortKey<K extends string> = K | `-${K}`;

/**
 * The ORDER BY term of a `sort` value over the list's sortable columns. `nullsLast` keeps
 * rows without a value at the end in both directions (a customer who never ordered).
 */
export function sortBy<K extends string>(
  columns: Record<K, PgColumn>,
  sort: SortKey<K>,
  { nullsLast = false } = {},
): SQL {
  const descending = sort.startsWith('-');
  const column = columns[(descending ? sort.slice(1) : sort) as K];
  if (nullsLast) return descending ? sql`${column} desc nulls last` : sql`${column} asc nulls last`;
  return descending ? desc(column) : asc(column);
}

export interface ListQuery<Q extends PgSelect> {
  /** The SELECT with its joins, in dynamic mode (`.$dynamic()`), before WHERE and ORDER BY. */
  rows: Q;
  /** The table the rows come from: the total counts its rows matching `where`. */
  table: PgTable;
  where: SQL | undefined;
  /** The order; end with the id so that rows never move between pages. */
  order: SQL[];
}

/** The list-page block: one page of rows and the total matching the filter, in parallel, in the page envelope. */
export async function pageOf<Q extends PgSelect, Item>(
  executor: Executor,
  input: PageInput,
  query: ListQuery<Q>,
  toItems: (rows: Q['_']['result']) => Item[] | Promise<Item[]>,
): Promise<Page<Item>> {
  const [rows, totals] = await Promise.all([
    query.rows
      .where(query.where)
      .orderBy(...query.order)
      .limit(input.pageSize)
      .offset((input.page - 1) * input.pageSize),
    executor.select({ total: count() }).from(query.table).where(and(query.where)),
  ]);
  return { items: await toItems(rows), total: totals[0]?.total ?? 0, page: input.page, pageSize: input.pageSize };
}

export interface JsonListQuery {
  /** The table listed, and its id column: the page picks ids, the total counts rows, both matching `where`. */
  table: PgTable;
  id: PgColumn;
  where: SQL | undefined;
  /** The order; end with the id so that rows never move between pages. */
  order: SQL[];
  /** The JOINs that `item` reads, after `from <table>`. */
  joins: SQL;
  /** One item as JSON, built in PostgreSQL from the table's row and the joins. */
  item: SQL;
}

/**
 * `pageOf` in one statement that answers the page as JSON: the page's ids first (filter, order,
 * offset), then an item built only for those rows, and the total counted beside them. One round
 * trip and no per-row mapping in JavaScript; `item` must give exactly the contract's item.
 */
export async function jsonPageOf<Item>(
  executor: Executor,
  input: PageInput,
  query: JsonListQuery,
): Promise<Page<Item>> {
  const { table, id, order } = query;
  const where = query.where ?? sql`true`;
  const [row] = await executor.execute<{ total: number; items: Item[] }>(sql`
    select (select count(*)::int from ${table} where ${where}) as total,
           coalesce(json_agg(${query.item} order by ${sql.join(order, sql`, `)}), '[]'::json) as items
      from (select ${id} as page_id from ${table} where ${where} order by ${sql.join(order, sql`, `)}
             limit ${input.pageSize} offset ${(input.page - 1) * input.pageSize}) page
      join ${table} on ${id} = page.page_id
      ${query.joins}`);
  return { items: row?.items ?? [], total: row?.total ?? 0, page: input.page, pageSize: input.pageSize };
}

export interface SyncInput extends PageInput {
  updatedAfter?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** What cursor mode reads with: the database, and the key its cursors are signed with. */
export type SyncDeps = Pick<ServiceDeps, 'db' | 'jwtKey' | 'cursorKey'>;

export interface SyncQuery<Q extends PgSelect> extends ListQuery<Q> {
  /** The table's `updated_at` and `id`: the keyset of cursor mode (indexed together on each synced table). */
  keyset: { updatedAt: PgColumn; id: PgColumn };
}

const DEFAULT_LIMIT = 20;

/**
 * The start of the oldest transaction still open: a row it writes will carry an `updated_at` at or
 * after it (the `sync_updated_at` trigger), so rows before it are all committed and none can still
 * appear there. Read in its own statement, before the rows: a transaction that commits in between
 * is then visible to the rows' snapshot.
 */
async function syncWatermark(executor: Executor): Promise<string> {
  const [row] = await executor.execute<{ watermark: string }>(sql`
    select date_trunc('milliseconds', min(xact_start))::text as watermark
      from pg_stat_activity
     where datname = current_database() and backend_type = 'client backend' and xact_start is not null`);
  return row?.watermark ?? 'now';
}

/**
 * A list that a client can also sync incrementally. `updatedAfter` filters in both modes. With
 * `cursor` or `limit` it answers in cursor mode: rows after the cursor in `(updated_at, id)`
 * order (neither `sort` nor `page` apply), `total` counting those left, and `nextCursor` after
 * the last item (the same cursor again when nothing changed). Otherwise it is `pageOf`.
 */
export async function syncPageOf<Q extends PgSelect, Item extends { id: string; updatedAt: string }>(
  deps: SyncDeps,
  input: SyncInput,
  query: SyncQuery<Q>,
  toItems: (rows: Q['_']['result']) => Item[] | Promise<Item[]>,
): Promise<SyncPage<Item>> {
  const { updatedAt, id } = query.keyset;
  const after = input.updatedAfter ? gt(updatedAt, new Date(input.updatedAfter)) : undefined;
  if (input.cursor === undefined && input.limit === undefined) {
    const page = await pageOf(deps.db, input, { ...query, where: and(query.where, after) }, toItems);
    return { ...page, nextCursor: null };
  }
  const { limit, window, cursors } = await cursorWindow(deps, getTableName(query.table), input);
  const where = and(query.where, window(updatedAt, id));
  const [rows, totals] = await Promise.all([
    query.rows.where(where).orderBy(asc(updatedAt), asc(id)).limit(limit),
    deps.db.select({ total: count() }).from(query.table).where(where),
  ]);
  return cursorPage(cursors, await toItems(rows), totals[0]?.total ?? 0, limit, input.cursor);
}

/**
 * Cursor mode's bounds: the page size, and over a keyset `(updatedAt, id)` the rows after
 * `updatedAfter` and after the cursor, below the watermark (`syncWatermark`); and the cursors of
 * `list`. A cursor this API did not issue for `list` is a 400 naming `cursor`.
 */
export async function cursorWindow(deps: SyncDeps, list: string, input: SyncInput) {
  const cursors = listCursors(deps, list);
  const position = input.cursor === undefined ? undefined : cursors.open(input.cursor);
  const watermark = await syncWatermark(deps.db);
  const window = (updatedAt: SQL | AnyPgColumn, id: AnyPgColumn) =>
    and(
      input.updatedAfter ? sql`${updatedAt} > ${input.updatedAfter}::timestamptz` : undefined,
      sql`${updatedAt} < ${watermark}::timestamptz`,
      position ? sql`(${updatedAt}, ${id}) > (${position.updatedAt}::timestamptz, ${position.id}::uuid)` : undefined,
    );
  return { limit: input.limit ?? DEFAULT_LIMIT, window, cursors };
}

/** A cursor-mode answer: `nextCursor` after the last item, or the same cursor again when nothing changed. */
export function cursorPage<Item extends { id: string; updatedAt: string }>(
  cursors: ListCursors,
  items: Item[],
  total: number,
  limit: number,
  cursor: string | undefined,
): SyncPage<Item> {
  const last = items.at(-1);
  return {
    items,
    total,
    page: 1,
    pageSize: limit,
    nextCursor: last ? cursors.seal(last) : (cursor ?? null),
  };
}
