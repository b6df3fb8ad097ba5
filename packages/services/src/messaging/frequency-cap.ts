import type { Config } from '@touch-crm/config';
import type { Executor } from '@touch-crm/db';
import { type SQL, sql } from 'drizzle-orm';
import { at, uuids } from '../lib/sql.ts';
import { MARKETING_TYPES } from './policy.ts';
import { nextAllowedSql } from './quiet-hours.ts';

/** Advisory lock class of the per-customer cap locks (the second key is the customer's hash). */
const CAP_LOCK_CLASS = 0x5a5_0002;
const DAY = '24 hours';
const WEEK = '7 days';

/**
 * Literals, not parameters: the planner can then prove the partial index
 * message_queue_marketing_sent_idx applies (its predicate names the same types and statuses).
 */
const marketingTypes = sql.raw(`(${MARKETING_TYPES.map((type) => `'${type}'`).join(', ')})`);
/** What the cap counts: marketing handed to the carrier (a FAILED send never reached the customer). */
const countedStatuses = sql.raw(`('SENDING', 'SENT', 'DELIVERED', 'UNDELIVERED')`);

/** A predicate on `message_queue s`: marketing the cap counts, claimed since `since` (the claim time is in scheduled_for). */
export const countedMarketingSql = (since: SQL) =>
  sql`s.type in ${marketingTypes} and s.status in ${countedStatuses} and s.scheduled_for > ${since}`;

const windowsOf = (config: Config, now: Date) => ({
  perDay: config.SMS_MARKETING_MAX_PER_DAY,
  perWeek: config.SMS_MARKETING_MAX_PER_WEEK ?? null,
  dayStart: sql`${at(now)} - interval '${sql.raw(DAY)}'`,
  since: sql`${at(now)} - interval '${sql.raw(config.SMS_MARKETING_MAX_PER_WEEK ? WEEK : DAY)}'`,
});

/** A SELECT of the customers at a cap now: their next marketing message would wait. */
export function customersAtCapSql(config: Config, now: Date): SQL {
  const { perDay, perWeek, dayStart, since } = windowsOf(config, now);
  return sql`
    select s.customer_id from message_queue s
     where s.customer_id is not null and ${countedMarketingSql(since)}
     group by s.customer_id
    having count(*) filter (where s.scheduled_for > ${dayStart}) >= ${perDay}
        or ${perWeek ? sql`count(*) >= ${perWeek}` : sql`false`}`;
}

/**
 * Serialises claims per customer: locks the next `limit` due marketing messages of the claim
 * (`which` narrows them as the claim does; SKIP LOCKED, as the claim will) and takes a
 * transaction-scoped advisory lock for each of their customers, in key order so two claimers
 * never deadlock. It runs as its own statement before
 * the claim, so the claim's snapshot sees every message an earlier holder of the lock claimed.
 * Returns the customers locked: a marketing candidate of another customer waits for a later claim.
 */
export async function lockCappedCustomers(tx: Executor, which: SQL, now: Date, limit: number): Promise<string[]> {
  const rows = await tx.execute<{ customer_id: string }>(sql`
    select k.customer_id, pg_advisory_xact_lock(${CAP_LOCK_CLASS}, k.key)
      from (select distinct due.customer_id, hashtext(due.customer_id::text) as key
              from (select m.customer_id from message_queue m
                     where ${which} m.status = 'QUEUED' and m.scheduled_for <= ${at(now)}
                       and m.type in ${marketingTypes} and m.customer_id is not null
                     order by m.scheduled_for, m.id
                     limit ${limit}
                       for update of m skip locked) due
             order by key, due.customer_id) k`);
  return rows.map((row) => row.customer_id);
}

/**
 * A SELECT of the marketing messages among `eligible` (a CTE with id, customer_id, scheduled_for,
 * time_zone; customer_id never null: the cap is per customer, and a message without one has no history) that the frequency cap holds, each with `until`: when its customer's oldest counted
 * message leaves the window (then in their own allowed hours). With the messages this claim sends
 * counted in order, a customer gets at most SMS_MARKETING_MAX_PER_DAY in any 24 h and
 * SMS_MARKETING_MAX_PER_WEEK in any 7 days. Customers not in `locked` wait for the next claim.
 */
export function cappedSql(config: Config, eligible: SQL, now: Date, locked: readonly string[]): SQL {
  const { perDay, perWeek, dayStart, since } = windowsOf(config, now);
  const overDay = sql`u.day_used + e.rank > ${perDay}`;
  const overWeek = perWeek ? sql`u.week_used + e.rank > ${perWeek}` : sql`false`;
  const until = sql`greatest(
    case when ${overDay} then coalesce(u.day_oldest, ${at(now)}) + interval '${sql.raw(DAY)}' end,
    case when ${overWeek} then coalesce(u.week_oldest, ${at(now)}) + interval '${sql.raw(WEEK)}' end)`;
  const zone = sql`coalesce(e.time_zone, ${config.APP_TIMEZONE})`;
  return sql`
    select e.id,
           case when not e.locked then ${at(now)} else ${nextAllowedSql(until, config.SMS_QUIET_HOURS, zone)} end as until
      from (select id, customer_id, time_zone, customer_id = any(${uuids(locked)}) as locked,
                   row_number() over (partition by customer_id order by scheduled_for, id) as rank
              from ${eligible}) e
      cross join lateral (
        select count(*) filter (where s.scheduled_for > ${dayStart})::int as day_used,
               min(s.scheduled_for) filter (where s.scheduled_for > ${dayStart}) as day_oldest,
               count(*)::int as week_used, min(s.scheduled_for) as week_oldest
          from message_queue s where s.customer_id = e.customer_id and ${countedMarketingSql(since)}) u
     where not e.locked or ${overDay} or ${overWeek}`;
}
