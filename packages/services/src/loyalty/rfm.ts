import type { RfmSegment } from '@touch-crm/contract';
import { type SQL, sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import { rfmUpdatedAt } from '../commerce/customers-sync.ts';
import { assignLevelPromotions } from '../commerce/promotion-assignment.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEventsCtes } from '../events/record-set.ts';
import { at } from '../lib/sql.ts';
import { fullMeasures, keptMeasures, remeasure } from './rfm-measures.ts';

export const RFM_JOB = 'rfm.score';

/**
 * The event of a run's first-level assignments: customers who had no level and got one are
 * summarised in one event (counts per level), where a later level change is one
 * `customer.level_changed` per customer with its timeline entry. A first scoring gives every
 * customer a level at once, and a million event, audit and timeline rows (with their foreign-key
 * checks) were most of its cost; the customers themselves reach syncing clients through their
 * `updatedAt`. Documented in docs/rfm-and-levels.md and docs/webhooks.md.
 */
export const FIRST_LEVELS_EVENT = 'customer.levels_assigned';
const RFM_LOCK = 0x5a5_0004;

/**
 * Segment by recency (R) and frequency (F) scores, the usual RFM grid. Rows: R 5 → 1;
 * columns: F 1 → 5. Documented in docs/rfm-and-levels.md.
 */
export const RFM_SEGMENT_GRID: Record<number, readonly RfmSegment[]> = {
  5: ['New', 'Potential Loyalist', 'Potential Loyalist', 'Champions', 'Champions'],
  4: ['Promising', 'Potential Loyalist', 'Potential Loyalist', 'Loyal', 'Loyal'],
  3: ['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal', 'Loyal'],
  2: ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose"],
  1: ['Lost', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose"],
};

/** The grid as one constant text[] indexed by (R - 1) × 5 + F (literals, no parameters). */
const segmentArray = () =>
  sql.raw(
    `array[${[1, 2, 3, 4, 5]
      .flatMap((r) => (RFM_SEGMENT_GRID[r] ?? []).map((segment) => `'${segment.replaceAll("'", "''")}'`))
      .join(', ')}]::text[]`,
  );

/**
 * Scores, segments and levels from rfm_base (the temporary table, or the last of `measures`' CTEs);
 * the changed customers written, with their level events.
 */
function rfmApplyStatement(now: Date, measures: SQL = sql``): SQL {
  return sql`
  with ${measures} cuts as (
    select percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by last_order_at) as r,
           percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by frequency) as f,
           percentile_disc(array[0.2, 0.4, 0.6, 0.8]) within group (order by monetary) as m,
           count(*)::int as scored
      from rfm_base where last_order_at is not null
  ), by_score as (
    -- The level of each RFM score 3–15 and its rank.
    select score, l.id, l.rank
      from generate_series(3, 15) score
      left join lateral (select l.id, l.rank from customer_levels l where l.min_rfm_score <= score
                          order by l.min_rfm_score desc, l.rank desc limit 1) l on true
  ), levels as (
    -- The same as two arrays indexed by score - 2.
    select array_agg(id order by score) as ids, array_agg(rank order by score) as ranks from by_score
  ), scored as (
    -- A manual level is a floor: the computed level applies only when it ranks higher. Cleared
    -- scores keep the level.
    select b.id, b.rid, b.level_id, b.rfm_recency, b.rfm_frequency, b.rfm_monetary, b.rfm_score,
           b.rfm_segment, b.rfm_last_order_at, b.rfm_window_orders, b.rfm_window_total, b.last_order_at,
           b.frequency as window_orders, b.monetary as window_total, s.r, s.f, s.m,
           (s.r + s.f + s.m)::smallint as score,
           (${segmentArray()})[(s.r - 1) * 5 + s.f] as segment,
           case when s.r is null then b.level_id
                when ml.id is not null and ml.rank >= coalesce(lv.ranks[s.r + s.f + s.m - 2], -1) then ml.id
                else coalesce(lv.ids[s.r + s.f + s.m - 2], b.level_id) end as new_level_id
      from rfm_base b cross join cuts k cross join levels lv
      -- Score = 1 + the number of cut points strictly below the value (width_bucket counts those at
      -- or below, hence the value minus one unit), computed once per row (offset 0 keeps the
      -- subquery from being flattened into the expressions above). A customer without orders now
      -- (scores to clear) gets null scores.
      cross join lateral (
        select (1 + width_bucket(b.last_order_at - interval '1 microsecond', k.r))::smallint as r,
               (1 + width_bucket(b.frequency - 1, k.f))::smallint as f,
               (1 + width_bucket(b.monetary - 1, k.m))::smallint as m
        offset 0) s
      left join customer_levels ml on ml.id = b.manual_level_id
  ), compared as (
    select *, (rfm_recency is distinct from r or rfm_frequency is distinct from f or rfm_monetary is distinct from m
               or rfm_score is distinct from score or rfm_segment is distinct from segment
               or level_id is distinct from new_level_id) as rescored
      from scored
  ), target as (
    -- Only the rows that change (a cleared row always had a score): the CTEs below read it several times.
    -- Moved measures alone are written without moving scored_at or updated_at (nothing a client sees).
    select id, rid, r, f, m, score, segment, new_level_id as level_id, level_id as old_level_id, rescored,
           last_order_at, window_orders, window_total
      from compared
     where rescored or rfm_last_order_at is distinct from last_order_at
        or rfm_window_orders is distinct from window_orders or rfm_window_total is distinct from window_total
  ), inserted as (
    -- Only customer_rfm is written: a narrow row, never the customer's (see the table's comment).
    insert into customer_rfm (customer_id, recency, frequency, monetary, score, segment, level_id, scored_at, updated_at,
                              last_order_at, window_orders, window_total)
    select t.id, t.r, t.f, t.m, t.score, t.segment, t.level_id, ${at(now)}, ${rfmUpdatedAt(now)},
           t.last_order_at, t.window_orders, t.window_total
      -- In key order: each index entry goes to the right edge of its index, not to a random page
      -- (customer ids are random: a million rows took 7.5 s in random order, 2.9 s sorted).
      from target t where t.rid is null order by t.id
    returning 1
  ), rewritten as (
    update customer_rfm c
       set recency = t.r, frequency = t.f, monetary = t.m, score = t.score, segment = t.segment, level_id = t.level_id,
           scored_at = case when t.rescored then ${at(now)} else c.scored_at end,
           updated_at = case when t.rescored then ${rfmUpdatedAt(now)} else c.updated_at end,
           last_order_at = t.last_order_at, window_orders = t.window_orders, window_total = t.window_total
      from target t
     -- By ctid, not by hashing every row of customer_rfm to find the few that changed.
     where c.ctid = any(array(select rid from target where rid is not null)) and c.ctid = t.rid
    returning 1
  ), level_changed as materialized (
    -- Of the rows the two writes above rescore (the table is locked for the run, so each finds its rows).
    select t.id, t.score, t.segment, t.level_id, t.old_level_id from target t
     where t.rescored and t.level_id is distinct from t.old_level_id
  ), ${recordEventsCtes(
    'level',
    sql`
    select 'customer.level_changed' as type, 'customer' as entity_type, lc.id as entity_id, lc.id as customer_id,
           null::uuid as actor_user_id, ${RFM_JOB}::text as actor_job,
           jsonb_build_object('id', lc.id, 'levelId', lc.level_id, 'rfmScore', lc.score, 'rfmSegment', lc.segment) as data,
           jsonb_build_object('levelId', jsonb_build_object('before', lc.old_level_id, 'after', lc.level_id)) as changes,
           'Level changed from ' || coalesce(old.name, 'none') || ' to ' || coalesce(new.name, 'none') as subject,
           'RFM score ' || lc.score || ' (' || lc.segment || ')' as content,
           ${at(now)} as occurred_at
      from level_changed lc
      left join customer_levels old on old.id = lc.old_level_id
      left join customer_levels new on new.id = lc.level_id
     where lc.old_level_id is not null`,
  )}, ${recordEventsCtes(
    'first',
    sql`
    -- Customers given their first level: one summary for the run (see FIRST_LEVELS_EVENT).
    select ${FIRST_LEVELS_EVENT}::text as type, 'rfm_run' as entity_type, gen_random_uuid() as entity_id,
           null::uuid as customer_id, null::uuid as actor_user_id, ${RFM_JOB}::text as actor_job,
           jsonb_build_object('count', sum(f.n), 'scoredAt', ${now.toISOString()}::text,
             'levels', jsonb_agg(jsonb_build_object('levelId', f.level_id, 'name', f.name, 'count', f.n)
                                 order by f.rank)) as data,
           null::jsonb as changes, null::text as subject, null::text as content, ${at(now)} as occurred_at
      from (select l.id as level_id, l.name, l.rank, n.n
              from (select level_id, count(*)::int as n from level_changed
                     where old_level_id is null group by level_id) n
              join customer_levels l on l.id = n.level_id) f
    having count(*) > 0`,
  )}
  select (select scored from cuts) as scored,
         (select count(*)::int from target where rescored) as changed,
         (select count(*)::int from level_changed) as level_changes,
         (select count(*)::int from level_changed where old_level_id is null) as first_levels,
         (select count(*)::int from target where rescored and score is null) as cleared,
         (select array_agg(lc.id) from level_changed lc
           where lc.level_id in (select p.customer_level_id from promotions p
                                  where p.condition_type = 'CUSTOMER_LEVEL' and p.is_active
                                    and (p.starts_at is null or p.starts_at <= ${at(now)})
                                    and (p.ends_at is null or p.ends_at > ${at(now)}))) as promotion_customers`;
}

export interface RfmResult {
  /** Customers with orders, scored in this run. */
  scored: number;
  /** Customers whose stored scores, segment or level changed. */
  changed: number;
  /** Customers whose level changed (each but the first levels has a timeline entry). */
  levelChanges: number;
  /** Of those, customers given their first level (one `customer.levels_assigned` event for them all). */
  firstLevels: number;
  /** Customers no longer with orders whose scores were cleared. */
  cleared: number;
  /** CUSTOMER_LEVEL promotions assigned to customers who reached a new level. */
  promotionsAssigned: number;
}

/**
 * Scores every live customer with non-cancelled orders, in one transaction: the measures (from
 * every order on a first run, otherwise those kept, re-measuring only the customers whose orders
 * may have moved them, see rfm-measures.ts), then one set-based statement of scoring, writes and events:
 *
 * - recency: time of the last non-cancelled order; frequency and monetary: count and total of
 *   non-cancelled orders in the last RFM_WINDOW_DAYS;
 * - each scored 1–5 by quintile over all scored customers (the 20/40/60/80th percentiles are the
 *   cut points; equal values always share a score), RFM score = R + F + M (3–15);
 * - segment from the R × F grid; level = the level with the highest min_rfm_score ≤ the score,
 *   or the customer's manual level when that ranks higher (a level set by hand is a floor);
 * - only rows whose values change are written, in customer_rfm (scored_at is when they last changed);
 * - a changed level writes a `customer.level_changed` event with its timeline entry (set-based,
 *   the shapes recordEvents writes), a first level one `customer.levels_assigned` for the run,
 *   and assigns the new level's CUSTOMER_LEVEL promotions through
 *   the commerce verb.
 *
 * Runs are serialised with an advisory lock; a second run over unchanged data writes nothing.
 */
export async function scoreRfm(deps: ServiceDeps, now: Date): Promise<RfmResult> {
  const actor = jobActor(RFM_JOB);
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${RFM_LOCK})`);
    // The run reads customer_rfm, then inserts the rows missing and updates the others: a manual
    // level edit (which writes it too) waits for the run rather than slipping in between.
    await tx.execute(sql`lock table customer_rfm in share row exclusive mode`);
    // Sorts and hashes of a million rows stay in memory.
    await tx.execute(sql`set local work_mem = '256MB'`);
    const [state] = await tx.execute<{ measured_at: string; window_days: number }>(
      sql`select measured_at, window_days from rfm_state`,
    );
    // The kept measures serve when they were taken earlier, over the same window; otherwise every
    // customer is measured (the first run, a changed window, a clock set back, truncated orders).
    const measuredAt = state ? new Date(state.measured_at) : undefined;
    const kept =
      measuredAt && state?.window_days === deps.config.RFM_WINDOW_DAYS && measuredAt.getTime() <= now.getTime();
    if (kept) for (const statement of remeasure(deps.config, measuredAt, now)) await tx.execute(statement);
    else {
      // Taken out before measuring: a row appended later names an order this run may not see.
      await tx.execute(sql`delete from rfm_pending`);
      // The aggregation alone (free of writes, so the planner may parallelise it), then the scoring.
      await tx.execute(sql`create temporary table rfm_base on commit drop as ${fullMeasures(deps.config, now)}`);
    }
    await tx.execute(sql`
      insert into rfm_state (measured_at, window_days) values (${at(now)}, ${deps.config.RFM_WINDOW_DAYS})
      on conflict (id) do update set measured_at = excluded.measured_at, window_days = excluded.window_days`);
    const [summary] = await tx.execute<{
      scored: number;
      changed: number;
      level_changes: number;
      first_levels: number;
      cleared: number;
      promotion_customers: string[] | null;
    }>(rfmApplyStatement(now, kept ? keptMeasures : undefined));
    const promoted = summary?.promotion_customers ?? [];
    const assigned =
      promoted.length > 0 ? await assignLevelPromotions({ tx, jobs: deps.jobs }, actor, promoted, now) : [];
    return {
      scored: summary?.scored ?? 0,
      changed: summary?.changed ?? 0,
      levelChanges: summary?.level_changes ?? 0,
      firstLevels: summary?.first_levels ?? 0,
      cleared: summary?.cleared ?? 0,
      promotionsAssigned: assigned.length,
    };
  });
}
