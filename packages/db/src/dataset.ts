import type postgres from 'postgres';

export interface DatasetSize {
  customers: number;
  /** Orders of an occasional buyer; one customer in ten buys five times as often. */
  ordersPerCustomer: number;
  products: number;
  /**
   * When set, the first `activeCustomers` customers of this call are CUSTOMER and the rest
   * INACTIVE (all of them buyers), as the campaign bench wants; otherwise a mix of statuses.
   */
  activeCustomers?: number;
}

const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Margaret',
  'Ken',
  'Frances',
  'Linus',
  'Sofia',
  'Mateo',
  'Amara',
  'Yuki',
  'Lars',
  'Priya',
  'Omar',
  'Chloe',
  'Diego',
  'Ingrid',
];
const LAST_NAMES = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Thompson',
  'Allen',
  'Torvalds',
  'García',
  'Nakamura',
  'Okafor',
  'Lindqvist',
  'Sharma',
  'Haddad',
  'Martin',
  'Rossi',
  'Kowalski',
  'Novak',
];
const TIME_ZONES = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'Europe/London'];

/** Customers written per statement: bounds the rows a statement hands from customers to orders. */
const CHUNK = 250_000;
/** The tables the dataset fills, whose plain indexes are built once after the load rather than row by row. */
const LOADED_TABLES = ['customers', 'orders', 'order_items'];
/**
 * Their triggers paused during the load: the row triggers (updated_at), since the load writes what
 * they would, and the RFM change log, since the load instead has the next RFM run measure everyone.
 */
const LOADED_TRIGGERS = [
  ['customers', 'customers_sync_updated_at'],
  ['orders', 'orders_sync_updated_at'],
  ['orders', 'orders_rfm_pending_insert'],
] as const;

type Sql = postgres.Sql | postgres.TransactionSql;
/** Runs one step of the load, saying how long it took. */
type Timed = (step: string, work: () => PromiseLike<unknown>) => Promise<void>;

/**
 * A time-ordered UUID in the version 7 layout for row number `n` (an SQL bigint expression) of a
 * load that started at `ms`: primary keys filled in key order append to the right edge of their
 * index instead of dirtying random pages. Written out rather than PostgreSQL 18's uuidv7(), which
 * PostgreSQL 17 (docker-compose) lacks. The high half (time, version 7, `n`'s low 12 bits) is unique
 * for each `n`; the low half, after the RFC 9562 variant bits, is a hash of `n` seeded with `ms`, not
 * random: gen_random_uuid() draws from the strong random source, about 10 µs a row. Each half is one
 * bigint's bytes, printed in hex at once: lpad and to_hex were an eighth of the load's CPU.
 */
const orderedUuid = (tx: Sql, ms: number, n: string) =>
  tx.unsafe(`encode(int8send(((${ms}::bigint + ((${n}) >> 12)) << 16) | 28672 | ((${n}) & 4095))
                     || int8send((hashint8extended(${n}, ${ms}) & ${2n ** 62n - 1n}) | x'8000000000000000'::bigint),
                     'hex')::uuid`);

/**
 * The orders of generated customer number `g` (an SQL expression): amount and time for each k.
 * One customer in ten buys five times as often; the others `perCustomer` ± 1 times. Times go back
 * in minutes only: an interval with days is applied through the session's time-zone calendar,
 * twice the cost, for the same instants under UTC.
 */
const ordersOf = (tx: Sql, g: string, perCustomer: number) =>
  tx.unsafe(`
    select k, (500 + ((${g} * 7 + k * 13) % 50) * 100)::bigint as amount,
           now() - ((((${g}) * 13 + k * 29) % 365) * 1440 + ((${g}) + k) % 600) * interval '1 minute' as at
      from generate_series(1, case when (${g}) % 10 = 0 then ${perCustomer * 5} else ${perCustomer - 1} + (${g}) % 2 end) k`);

/**
 * Runs `work` with the plain (non-unique) indexes and the foreign keys of the loaded tables
 * dropped, then puts them back from their own definitions, as PostgreSQL's "Populating a
 * Database" advises: one sorted build per index and one join per foreign key are several times
 * cheaper than maintaining a dozen indexes (one a trigram GIN) and running ten key checks for every
 * inserted row. Primary keys and unique indexes stay: they guard the load. The updated_at triggers
 * are paused too; the load sets updated_at to what they would (the transaction's start, in ms).
 *
 * When the loaded tables are empty they are truncated first, which gives them new files in this
 * transaction: under wal_level = minimal (the bench's server) PostgreSQL then writes no WAL for
 * their rows and indexes and syncs the files at commit instead, a quarter of the load's CPU. The
 * keys pointing at them from other tables are dropped and checked again around that, as TRUNCATE
 * asks. `work` is told whether the tables started empty.
 */
async function withIndexesRebuilt(
  tx: postgres.TransactionSql,
  timed: Timed,
  work: (fresh: boolean) => Promise<void>,
): Promise<void> {
  await tx.unsafe(`lock table ${LOADED_TABLES.join(', ')} in access exclusive mode`);
  const [{ fresh = false } = {}] = await tx.unsafe<{ fresh: boolean }[]>(
    `select ${LOADED_TABLES.map((table) => `not exists (select from ${table})`).join(' and ')} as fresh`,
  );
  const indexes = await tx<{ name: string; definition: string }[]>`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
      from pg_index i
     where i.indrelid = any(${LOADED_TABLES}::regclass[]) and not i.indisunique and not i.indisprimary
     order by 1`;
  const keys = await tx<{ tableName: string; name: string; definition: string }[]>`
    select conrelid::regclass::text as "tableName", quote_ident(conname) as name,
           pg_get_constraintdef(oid) as definition
      from pg_constraint
     where contype = 'f'
       and (conrelid = any(${LOADED_TABLES}::regclass[]) or (${fresh} and confrelid = any(${LOADED_TABLES}::regclass[])))
     order by 1, 2`;
  for (const key of keys) await tx.unsafe(`alter table ${key.tableName} drop constraint ${key.name}`);
  for (const index of indexes) await tx.unsafe(`drop index ${index.name}`);
  if (fresh) await tx.unsafe(`truncate ${LOADED_TABLES.join(', ')}`);
  for (const [table, trigger] of LOADED_TRIGGERS) await tx.unsafe(`alter table ${table} disable trigger ${trigger}`);
  await work(fresh);
  for (const [table, trigger] of LOADED_TRIGGERS) await tx.unsafe(`alter table ${table} enable trigger ${trigger}`);
  await tx`delete from rfm_state`;
  // Every index sorted in memory: the largest (orders, 5 million keys) in a few hundred MB.
  await tx`set local maintenance_work_mem = '1GB'`;
  for (const index of indexes) await timed(`index ${index.name}`, () => tx.unsafe(index.definition));
  for (const key of keys)
    await timed(`foreign key ${key.tableName}.${key.name}`, () =>
      tx.unsafe(`alter table ${key.tableName} add constraint ${key.name} ${key.definition}`),
    );
}

/**
 * Fills a migrated, seeded database with a believable dataset in a few set-based statements:
 * a catalogue, customers across statuses with names, phones, birthdays and time zones, and a
 * year of paid orders with one line each and a skewed distribution (a few heavy buyers, many
 * occasional ones); customer stats match the orders. Shared by `pnpm bench` and `pnpm seed:demo`
 * through the dev-only `@touch-crm/db/dataset` entry, never the production barrel.
 *
 * Each customer row is written once, its stats computed from the same formula as its orders; a
 * chunk of customers, their orders and the orders' lines is one statement. Runs in one transaction (the
 * caller's, when given one), so the tables are locked while their indexes are rebuilt.
 */
export async function generateDataset(
  sql: Sql,
  ownerIds: string[],
  size: DatasetSize,
  log: (message: string) => void = () => {},
): Promise<void> {
  if ('begin' in sql) {
    const started = performance.now();
    await sql.begin((tx) => generateDataset(tx, ownerIds, size, log));
    log(`dataset: total, with the commit, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return;
  }
  const tx = sql as postgres.TransactionSql;
  const timed: Timed = async (step, work) => {
    const started = performance.now();
    await work();
    log(`dataset: ${step} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };
  const ms = Date.now();
  await tx`
    insert into products (sku, name, unit_price)
    select 'SKU-' || lpad(g::text, 5, '0'),
           (array['Espresso beans','Tea sampler','Ceramic mug','Gift card','Cold brew kit','Grinder','Travel cup',
                  'Filter papers','Syrup','Pastry box'])[1 + g % 10] || ' ' || g,
           100 + (g * 737) % 20000
      from generate_series(1, ${size.products}) g
    on conflict (sku) do nothing`;
  const offset = Number((await tx`select count(*)::int as n from customers`)[0]?.n ?? 0);
  const status =
    size.activeCustomers === undefined
      ? tx.unsafe(`(array['LEAD','PROSPECT','CUSTOMER','CUSTOMER','CUSTOMER','INACTIVE'])[1 + g % 6]::customer_status`)
      : tx.unsafe(
          `(case when g <= ${offset + size.activeCustomers} then 'CUSTOMER' else 'INACTIVE' end)::customer_status`,
        );
  // What the paused updated_at triggers would write: the transaction's start, in milliseconds.
  const writtenAt = tx.unsafe(`date_trunc('milliseconds', now())`);
  // The catalogue numbered by SKU: order number n gets product n mod its size.
  const [{ products = 0 } = {}] = await tx<{ products: number }[]>`select count(*)::int as products from products`;
  await withIndexesRebuilt(tx, timed, async (fresh) => {
    // Into empty tables nothing can conflict: the generated ids and phones are unique among themselves.
    const onConflict = tx.unsafe(fresh ? '' : 'on conflict do nothing');
    // The statement's CTEs (a chunk's customers and orders, about 70 MB) kept in memory, not in temporary files.
    await tx`set local work_mem = '256MB'`;
    for (let first = offset + 1; first <= offset + size.customers; first += CHUNK) {
      const last = Math.min(first + CHUNK - 1, offset + size.customers);
      // The phone encodes g (see the customers' select), which is how the orders find theirs. Each
      // order's line is written from the orders' RETURNING rows: no second pass over the orders.
      await timed(
        `customers ${first}–${last}, their orders and lines`,
        () => tx`
        with generated as (
          select g, ${status} as status from generate_series(${first}::int, ${last}::int) g
        ),
        added as (
          insert into customers (id, first_name, last_name, phone, email, birthday, status, owner_id, time_zone,
                                 order_count, total_spent, last_order_at, created_at, updated_at)
          select ${orderedUuid(tx, ms, 'g')},
                 (${FIRST_NAMES}::text[])[1 + g % ${FIRST_NAMES.length}],
                 (${LAST_NAMES}::text[])[1 + (g / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}],
                 '+1202' || (5000000 + g)::text,
                 'customer' || g || '@example.com',
                 date '1950-01-01' + ((g::bigint * 7919) % 20000)::int,
                 status,
                 (${ownerIds}::uuid[])[1 + g % ${ownerIds.length}],
                 (${TIME_ZONES}::text[])[1 + g % ${TIME_ZONES.length}],
                 coalesce(st.n, 0), coalesce(st.total, 0), st.last_at,
                 now() - ((g * 31) % 720) * interval '24 hours', ${writtenAt}
            from generated
            left join lateral (
              select count(*)::int as n, sum(amount)::bigint as total, max(at) as last_at
                from (${ordersOf(tx, 'g', size.ordersPerCustomer)}) o
            ) st on status in ('CUSTOMER', 'INACTIVE')
          ${onConflict}
          returning id, substr(phone, 6)::int - 5000000 as g, order_count
        ),
        placed as (
          insert into orders (id, customer_id, status, currency, subtotal, discount, total, created_at, paid_at,
                              updated_at)
          select ${orderedUuid(tx, ms, 'a.g::bigint * 1000 + o.k')}, a.id, 'PAID', 'USD', o.amount, 0, o.amount,
                 o.at, o.at, ${writtenAt}
            from added a
            cross join lateral (${ordersOf(tx, 'a.g', size.ordersPerCustomer)}) o
           where a.order_count > 0
          returning id, number, total, created_at
        )
        insert into order_items (id, order_id, product_id, sku, product_name, unit_price, quantity, line_total,
                                 created_at)
        select ${orderedUuid(tx, ms, 'p.number')}, p.id, c.id, c.sku, c.name, p.total, 1, p.total, p.created_at
          from placed p
          join (select id, sku, name, row_number() over (order by sku) - 1 as slot from products) c
            on c.slot = p.number % ${products}`,
      );
    }
  });
}
