import type { Page } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { and, asc, count, desc, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgSelect, PgTable } from 'drizzle-orm/pg-core';

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
