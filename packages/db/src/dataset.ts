import type postgres from 'postgres';

export interface DatasetSize {
  customers: number;
  /** Orders of an occasional buyer; one customer in ten buys five times as often. */
  ordersPerCustomer: number;
  products: number;
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

/**
 * Fills a migrated, seeded database with a believable dataset in a few set-based statements:
 * a catalogue, customers across statuses with names, phones, birthdays and time zones, and a
 * year of paid orders with one line each and a skewed distribution (a few heavy buyers, many
 * occasional ones); customer stats match the orders. Shared by `pnpm bench` and `pnpm seed:demo`
 * through the dev-only `@touch-crm/db/dataset` entry, never the production barrel.
 */
export async function generateDataset(
  sql: postgres.Sql | postgres.TransactionSql,
  ownerIds: string[],
  size: DatasetSize,
): Promise<void> {
  await sql`
    insert into products (sku, name, unit_price)
    select 'SKU-' || lpad(g::text, 5, '0'),
           (array['Espresso beans','Tea sampler','Ceramic mug','Gift card','Cold brew kit','Grinder','Travel cup',
                  'Filter papers','Syrup','Pastry box'])[1 + g % 10] || ' ' || g,
           100 + (g * 737) % 20000
      from generate_series(1, ${size.products}) g
    on conflict (sku) do nothing`;
  const offset = Number((await sql`select count(*)::int as n from customers`)[0]?.n ?? 0);
  await sql`
    insert into customers (first_name, last_name, phone, email, birthday, status, owner_id, time_zone, created_at)
    select (${FIRST_NAMES}::text[])[1 + g % ${FIRST_NAMES.length}],
           (${LAST_NAMES}::text[])[1 + (g / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}],
           '+1202' || (5000000 + g)::text,
           'customer' || g || '@example.com',
           date '1950-01-01' + ((g::bigint * 7919) % 20000)::int,
           (array['LEAD','PROSPECT','CUSTOMER','CUSTOMER','CUSTOMER','INACTIVE'])[1 + g % 6]::customer_status,
           (${ownerIds}::uuid[])[1 + g % ${ownerIds.length}],
           (${TIME_ZONES}::text[])[1 + g % ${TIME_ZONES.length}],
           now() - ((g * 31) % 720) * interval '1 day'
      from generate_series(${offset + 1}::int, ${offset + size.customers}::int) g
    on conflict do nothing`;
  await sql`
    with catalogue as (
      select array_agg(id order by sku) as ids, array_agg(sku order by sku) as skus,
             array_agg(name order by sku) as names, count(*)::int as size
        from products
    ),
    placed as (
      insert into orders (customer_id, status, currency, subtotal, discount, total, created_at, paid_at)
      select c.id, 'PAID', 'USD', o.amount, 0, o.amount, o.at, o.at
        from (select id, row_number() over (order by id) as n from customers
               where status in ('CUSTOMER', 'INACTIVE') and order_count = 0) c
        cross join lateral (
          select (500 + ((c.n * 7 + k * 13) % 50) * 100)::bigint as amount,
                 now() - (((c.n * 13 + k * 29) % 365) * interval '1 day') - ((c.n + k) % 600) * interval '1 minute' as at
            from generate_series(1, case when c.n % 10 = 0 then ${size.ordersPerCustomer} * 5
                                         else ${size.ordersPerCustomer} - 1 + (c.n % 2) end) k
        ) o
      returning id, total, created_at
    )
    insert into order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total, created_at)
    select p.id, c.ids[1 + p.n % c.size], c.skus[1 + p.n % c.size], c.names[1 + p.n % c.size],
           p.total, 1, p.total, p.created_at
      from (select id, total, created_at, row_number() over () as n from placed) p
      cross join catalogue c`;
  await sql`
    update customers c
       set order_count = s.n, total_spent = s.total, last_order_at = s.last_at
      from (select customer_id, count(*)::int as n, sum(total)::bigint as total, max(created_at) as last_at
              from orders where status <> 'CANCELLED' group by customer_id) s
     where s.customer_id = c.id and c.order_count <> s.n`;
}
