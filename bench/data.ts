import type postgres from 'postgres';

export interface DatasetSize {
  customers: number;
  ordersPerCustomer: number;
  products: number;
}

/**
 * Fills a migrated, seeded database with a believable dataset in a few set-based statements:
 * customers across statuses with birthdays, a catalogue, and orders over the last year with a
 * skewed distribution (a few heavy buyers, many occasional ones); customer stats match the orders.
 */
export async function generateDataset(sql: postgres.Sql, ownerIds: string[], size: DatasetSize): Promise<void> {
  await sql`
    insert into products (sku, name, unit_price)
    select 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, 100 + (g * 737) % 20000
      from generate_series(1, ${size.products}) g
    on conflict (sku) do nothing`;
  await sql`
    insert into customers (first_name, last_name, phone, email, birthday, status, owner_id, created_at)
    select (array['Ada','Grace','Alan','Edsger','Barbara','Donald','Margaret','Ken','Frances','Linus'])[1 + g % 10],
           'Customer' || g,
           '+1' || (2020000000 + g)::text,
           'customer' || g || '@example.com',
           date '1960-01-01' + (g * 7919) % 16000,
           (array['LEAD','PROSPECT','CUSTOMER','CUSTOMER','CUSTOMER','INACTIVE'])[1 + g % 6]::customer_status,
           (${sql.array(ownerIds)}::uuid[])[1 + g % ${ownerIds.length}],
           now() - ((g * 31) % 720) * interval '1 day'
      from generate_series(1, ${size.customers}) g`;
  await sql`
    insert into orders (customer_id, status, currency, subtotal, discount, total, created_at, paid_at)
    select c.id, 'PAID', 'USD', amount, 0, amount, at, at
      from (select id, row_number() over (order by id) as n from customers) c
      cross join lateral (
        select k,
               (500 + ((c.n * 7 + k * 13) % 50) * 100)::bigint as amount,
               now() - (((c.n * 13 + k * 29) % 365) * interval '1 day') as at
          -- Heavy buyers: one customer in ten places five times the usual number of orders.
          from generate_series(1, case when c.n % 10 = 0 then ${size.ordersPerCustomer} * 5 else ${size.ordersPerCustomer} - 1 + (c.n % 2) end) k
      ) o`;
  await sql`
    update customers c
       set order_count = s.n, total_spent = s.total, last_order_at = s.last_at,
           status = case when c.status in ('LEAD', 'PROSPECT') then 'CUSTOMER'::customer_status else c.status end
      from (select customer_id, count(*)::int as n, sum(total)::bigint as total, max(created_at) as last_at
              from orders group by customer_id) s
     where s.customer_id = c.id`;
  await sql`analyze`;
}
