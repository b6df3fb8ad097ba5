import { createServer } from 'node:http';
import postgres from 'postgres';

/**
 * The baseline the API is measured against: the same SQL through postgres.js behind a bare
 * node:http server, with no framework, validation, authentication or authorisation.
 */
const sql = postgres(process.env.DATABASE_URL as string, { max: Number(process.env.POOL ?? 10), onnotice: () => {} });

const readBody = (req: import('node:http').IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
  });

const server = createServer(async (req, res) => {
  try {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/customers/')) {
      const [row] = await sql`select * from customers where id = ${url.slice(11)} and deleted_at is null`;
      res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(row ?? null));
      return;
    }
    if (req.method === 'GET' && url.startsWith('/customers?')) {
      const search = `%${new URL(url, 'http://x').searchParams.get('search') ?? ''}%`;
      const [items, [count]] = await Promise.all([
        sql`select * from customers where deleted_at is null and status = 'CUSTOMER' and search_text like ${search}
            order by total_spent desc nulls last, id limit 20`,
        sql`select count(*)::int as total from customers where deleted_at is null and status = 'CUSTOMER' and search_text like ${search}`,
      ]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items, total: count?.total ?? 0 }));
      return;
    }
    if (req.method === 'POST' && url === '/orders') {
      const input = JSON.parse(await readBody(req)) as {
        customerId: string;
        items: { productId: string; quantity: number }[];
      };
      const order = await sql.begin(async (tx) => {
        const [customer] = await tx`select id, order_count from customers where id = ${input.customerId} for update`;
        if (!customer) throw new Error('no customer');
        const products = await tx`select id, sku, name, unit_price from products
                                   where id = any(${input.items.map((i) => i.productId)}::uuid[])`;
        const lines = input.items.map((item) => {
          const product = products.find((p) => p.id === item.productId);
          const unitPrice = Number(product?.unit_price);
          return { ...item, sku: product?.sku, name: product?.name, unitPrice, lineTotal: unitPrice * item.quantity };
        });
        const subtotal = lines.reduce((sum, line) => sum + line.lineTotal, 0);
        const [created] = await tx`insert into orders (customer_id, status, currency, subtotal, discount, total)
                                   values (${input.customerId}, 'PENDING', 'USD', ${subtotal}, 0, ${subtotal}) returning *`;
        for (const line of lines)
          await tx`insert into order_items (order_id, product_id, sku, product_name, unit_price, quantity, line_total)
                   values (${created?.id}, ${line.productId}, ${line.sku}, ${line.name}, ${line.unitPrice}, ${line.quantity}, ${line.lineTotal})`;
        await tx`update customers set order_count = order_count + 1, total_spent = total_spent + ${subtotal},
                 last_order_at = now() where id = ${input.customerId}`;
        const [event] = await tx`insert into domain_events (type, entity_type, entity_id, customer_id, data)
                                 values ('order.placed', 'order', ${created?.id}, ${input.customerId}, ${tx.json({ id: created?.id })})
                                 returning id`;
        await tx`insert into audit_log (event_id, entity_type, entity_id, action) values (${event?.id}, 'order', ${created?.id}, 'placed')`;
        await tx`insert into work_logs (customer_id, type, subject, event_id, event_type)
                 values (${input.customerId}, 'SYSTEM', 'Order placed', ${event?.id}, 'order.placed')`;
        await tx`insert into customer_promotions (customer_id, promotion_id, source)
                 select ${input.customerId}, p.id, p.condition_type from promotions p
                  where p.is_active and p.condition_type = 'MIN_PURCHASE' and p.min_purchase_amount <= ${subtotal}
                 on conflict do nothing`;
        return created;
      });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(order));
      return;
    }
    res.writeHead(404).end();
  } catch {
    res.writeHead(500).end();
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
