import { type SQL, sql } from 'drizzle-orm';
import { rfmUpdatedAt } from '../commerce/customers-sync.ts';
import type { ServiceDeps } from '../deps.ts';
import { at } from '../lib/sql.ts';

/**
 * What a run scores from: `rfm_base`, one row per live customer with orders now or scores from
 * before (to clear them), with the measures (last order, orders and total in the window) and what
 * customer_rfm holds (`rid`: its row's ctid, stable while the run holds the table's lock). Either measured from every order (`fullMeasures`) or from the measures
 * customer_rfm keeps (`keptMeasures`), once `remeasure` has re-measured the customers that may have moved.
 */
type WindowConfig = Pick<ServiceDeps['config'], 'RFM_WINDOW_DAYS'>;

const windowStart = (config: WindowConfig, instant: Date) =>
  new Date(instant.getTime() - config.RFM_WINDOW_DAYS * 86_400_000);

/** The columns of rfm_base that customer_rfm holds, from its alias `r`. */
const storedColumns = sql`r.level_id, r.recency as rfm_recency, r.frequency as rfm_frequency,
  r.monetary as rfm_monetary, r.score as rfm_score, r.segment as rfm_segment,
  r.last_order_at as rfm_last_order_at, r.window_orders as rfm_window_orders, r.window_total as rfm_window_total`;

/**
 * A customer's measures over orders `o`, the orders that count (`counted`) aggregated: time of the
 * last one, and how many and how much in the window ending at `now`.
 */
function measuresOfOrders(config: WindowConfig, now: Date) {
  const from = at(windowStart(config, now));
  return {
    measures: sql`max(o.created_at) as last_order_at,
      count(*) filter (where o.created_at >= ${from})::int as frequency,
      coalesce(sum(o.total) filter (where o.created_at >= ${from}), 0)::bigint as monetary`,
    counted: sql`o.status <> 'CANCELLED' and o.created_at <= ${at(now)}`,
  };
}

/**
 * Every live customer measured from all orders: read-only so PostgreSQL may run the aggregation in
 * parallel (a statement with a data-modifying CTE never is), hence a temporary table of its own.
 */
export function fullMeasures(config: WindowConfig, now: Date): SQL {
  const { measures, counted } = measuresOfOrders(config, now);
  return sql`
    select c.id, r.ctid as rid, c.manual_level_id, ${storedColumns},
           st.last_order_at, st.frequency, st.monetary
      from customers c
      left join customer_rfm r on r.customer_id = c.id
      left join (
        select o.customer_id, ${measures} from orders o where ${counted} group by o.customer_id
      ) st on st.customer_id = c.id
     where c.deleted_at is null and (st.customer_id is not null or r.score is not null)`;
}

/**
 * Brings the measures customer_rfm keeps (taken at `measuredAt`, same window) up to `now`: for the
 * customers rfm_pending names (taken out here), those with an order that left the window since,
 * and those with an order dated between the two runs (written earlier, dated ahead). Everyone
 * else's measures cannot have moved. Only the measures are written (a new row: a live customer's
 * first orders), so nothing a client sees moves until the scoring writes.
 */
export function remeasure(config: WindowConfig, measuredAt: Date, now: Date): SQL[] {
  const from = at(windowStart(config, now));
  const { measures, counted } = measuresOfOrders(config, now);
  return [
    // A table of its own, not a CTE: the planner then knows how few rows it holds (from its size)
    // and looks them up in customer_rfm rather than hashing all of it.
    sql`create temporary table rfm_fresh (customer_id uuid primary key, last_order_at timestamptz,
          window_orders integer, window_total bigint) on commit drop`,
    sql`create temporary table rfm_gone (id uuid) on commit drop`,
    sql`
    with taken as (
      delete from rfm_pending returning customer_id
    ), gone as (
      -- The deleted customers as this statement sees them, for the scoring to leave out: one
      -- restored after it (its log row not taken) would be scored from the measures kept while
      -- it was deleted, which no run brings up to date.
      insert into rfm_gone select id from customers where deleted_at is not null
    ), touched as (
      select customer_id from taken
      union
      select customer_id from orders
       where created_at >= ${at(windowStart(config, measuredAt))} and created_at < ${from}
      union
      select customer_id from orders where created_at > ${at(measuredAt)} and created_at <= ${at(now)}
    )
    insert into rfm_fresh
    select t.customer_id, st.last_order_at,
           case when st.last_order_at is not null then st.frequency end,
           case when st.last_order_at is not null then st.monetary end
      from touched t
     cross join lateral (select ${measures} from orders o where o.customer_id = t.customer_id and ${counted}) st`,
    // Its size for the planner, which otherwise takes an empty temporary table for a large one and
    // hashes all of customer_rfm to leave these few out.
    sql`analyze rfm_gone`,
    sql`
    with rewritten as (
      update customer_rfm r
         set last_order_at = f.last_order_at, window_orders = f.window_orders, window_total = f.window_total
        from rfm_fresh f
       where r.customer_id = f.customer_id
         and (r.last_order_at, r.window_orders, r.window_total) is distinct from (f.last_order_at, f.window_orders, f.window_total)
    )
    insert into customer_rfm (customer_id, last_order_at, window_orders, window_total, updated_at)
    select f.customer_id, f.last_order_at, f.window_orders, f.window_total, ${rfmUpdatedAt(now)}
      from rfm_fresh f
     where f.last_order_at is not null
       and not exists (select 1 from customer_rfm r where r.customer_id = f.customer_id)
       and exists (select 1 from customers c where c.id = f.customer_id and c.deleted_at is null)`,
  ];
}

/**
 * rfm_base as a CTE over the measures customer_rfm keeps (brought up to date by `remeasure`). Read
 * twice (the cut points, then the scores) rather than materialised: two scans of the narrow table
 * cost no more than copying a million wide rows into memory (about 140 MB) and reading them back.
 */
export const keptMeasures = sql`
  rfm_base as not materialized (
    select r.customer_id as id, r.ctid as rid, m.manual_level_id, ${storedColumns},
           r.last_order_at, r.window_orders as frequency, r.window_total as monetary
      from customer_rfm r
      left join customers m on m.id = r.customer_id and m.manual_level_id is not null
     where not exists (select 1 from rfm_gone d where d.id = r.customer_id)
       and (r.last_order_at is not null or r.score is not null)
  ),`;
