import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Database = PostgresJsDatabase<Schema> & { $client: postgres.Sql };
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything that can run a query: the pool or an open transaction. */
export type Executor = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  sql: postgres.Sql;
  url: string;
  close: () => Promise<void>;
}

/** Statements with more parameters than this (long IN lists, batches) are not kept prepared. */
const MAX_PREPARED_PARAMETERS = 32;

/**
 * drizzle runs every query as an unnamed statement, so PostgreSQL parses and plans it on
 * every call (0.5 ms and more for a join). postgres.js can keep statements prepared per
 * connection; this lets it for every query of a bounded shape, in and out of transactions.
 */
function preparing<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe')
        return (query: string, parameters?: unknown[], options?: { prepare?: boolean }) =>
          target.unsafe(query, parameters as never, {
            ...options,
            prepare: (parameters?.length ?? 0) <= MAX_PREPARED_PARAMETERS,
          });
      if (property === 'begin' || property === 'savepoint')
        return (...args: unknown[]) => {
          const callback = args.pop() as (tx: postgres.TransactionSql) => unknown;
          const open = Reflect.get(target, property) as (...rest: unknown[]) => unknown;
          return open.call(target, ...args, (tx: postgres.TransactionSql) => callback(preparing(tx)));
        };
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Seconds a new connection may take to be ready; postgres.js waits 30 by default. */
const CONNECT_TIMEOUT_SECONDS = 3;

/**
 * Seconds before a connection that failed is tried again. postgres.js grows this to 20 s
 * over repeated failures and holds queued queries that long, so while the database is away
 * every request hung for seconds; capped here, they fail fast and recover fast.
 */
const reconnectDelaySeconds = (retries: number) => Math.min(0.05 * 2 ** retries, 0.5) * (0.5 + Math.random() / 2);

export function connectDatabase(url: string, options: { max?: number; applicationName?: string } = {}): DatabaseHandle {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectDelaySeconds,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'touch-crm' },
  });
  const db = drizzle({ client: preparing(sql), schema, casing: 'snake_case' }) as Database;
  return { db, sql, url, close: () => sql.end({ timeout: 5 }) };
}

/** What a LISTEN connection reports: each notification, and its loss (the socket closed). */
export interface ListenHandlers {
  onNotify: (channel: string, payload: string) => void;
  onClose: () => void;
}

/** A connection that only LISTENs: `unsafe('listen …')` (re)opens it; `end()` closes it for good. */
export interface ListenConnection {
  unsafe: (query: string) => PromiseLike<unknown>;
  end: (options?: { timeout?: number }) => Promise<void>;
}

/**
 * One connection for LISTEN alone, never idle-closed. Unlike postgres.js's `listen()`, which
 * reconnects silently, it says when it is lost: notifications sent meanwhile were missed.
 */
export function connectListener(
  url: string,
  handlers: ListenHandlers,
  applicationName = 'touch-crm',
): ListenConnection {
  // `onnotify` is postgres.js's own (what its `listen()` uses) but missing from its types.
  const options: postgres.Options<Record<string, never>> & { onnotify: ListenHandlers['onNotify'] } = {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    fetch_types: false,
    onnotice: () => {},
    onnotify: handlers.onNotify,
    onclose: handlers.onClose,
    connection: { application_name: applicationName },
  };
  return postgres(url, options);
}
