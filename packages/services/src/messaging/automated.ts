import { sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { at } from '../lib/sql.ts';
import { queueMessages } from './queueing.ts';
import { templateBodyOf } from './templates.ts';
import { isLeapYear, localDate, wallTime } from './time.ts';

export interface AutomatedMessagesResult {
  /** The calendar day the run was for, in APP_TIMEZONE. */
  date: string;
  queued: number;
  /** Written SKIPPED: the customer opted out of marketing SMS. */
  skipped: number;
  /** When delivery starts (the end of quiet hours if the run falls inside them). */
  scheduledFor: string;
}

const BIRTHDAY_LOCK = 0x5a5_0002;
const INACTIVITY_LOCK = 0x5a5_0003;

/**
 * Birthday messages for every live customer whose birthday is today in APP_TIMEZONE (29 February
 * birthdays on 28 February in other years), in one INSERT … SELECT. The idempotency key
 * `birthday:<customer>:<year>` makes it once per customer per year, however often it runs.
 */
export async function queueBirthdayMessages(deps: ServiceDeps, now: Date): Promise<AutomatedMessagesResult> {
  const tz = deps.config.APP_TIMEZONE;
  const today = wallTime(now, tz);
  const days = [today.day];
  if (today.month === 2 && today.day === 28 && !isLeapYear(today.year)) days.push(29);
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BIRTHDAY_LOCK})`);
    const template = await templateBodyOf(tx, 'BIRTHDAY');
    const result = await queueMessages(deps, tx, {
      type: 'BIRTHDAY',
      template,
      now,
      // Matches customers_birthday_md_idx (month, day of the birthday).
      recipients: sql`
        select c.id as customer_id, c.phone, c.sms_opt_in, c.first_name, c.last_name, l.name as level_name,
               'birthday:' || c.id || ':' || ${today.year}::int as idempotency_key
          from customers c
          left join customer_rfm r on r.customer_id = c.id
          left join customer_levels l on l.id = r.level_id
         where c.deleted_at is null
           and extract(month from c.birthday) = ${today.month}::int
           and extract(day from c.birthday) = any(${`{${days.join(',')}}`}::int[])`,
    });
    return {
      date: localDate(now, tz),
      queued: result.queuedIds.length,
      skipped: result.skipped,
      scheduledFor: result.scheduledFor.toISOString(),
    };
  });
}

/**
 * "We miss you" messages for live customers with status CUSTOMER and no order for
 * INACTIVITY_DAYS (never ordered: counted from when they were created), who were not sent an
 * inactivity message in the last INACTIVITY_COOLDOWN_DAYS; one INSERT … SELECT. The key
 * `inactivity:<customer>:<date>` keeps a repeated run on the same day from sending twice.
 */
export async function queueInactivityMessages(deps: ServiceDeps, now: Date): Promise<AutomatedMessagesResult> {
  const { config } = deps;
  const date = localDate(now, config.APP_TIMEZONE);
  const inactiveSince = new Date(now.getTime() - config.INACTIVITY_DAYS * 86_400_000);
  const cooldownSince = new Date(now.getTime() - config.INACTIVITY_COOLDOWN_DAYS * 86_400_000);
  return deps.db.transaction(async (tx) => {
    // Serialises runs, so the cooldown check of a second run sees the first run's messages.
    await tx.execute(sql`select pg_advisory_xact_lock(${INACTIVITY_LOCK})`);
    const template = await templateBodyOf(tx, 'INACTIVITY');
    const result = await queueMessages(deps, tx, {
      type: 'INACTIVITY',
      template,
      now,
      recipients: sql`
        select c.id as customer_id, c.phone, c.sms_opt_in, c.first_name, c.last_name, l.name as level_name,
               'inactivity:' || c.id || ':' || ${date}::text as idempotency_key
          from customers c
          left join customer_rfm r on r.customer_id = c.id
          left join customer_levels l on l.id = r.level_id
         where c.deleted_at is null
           and c.status = 'CUSTOMER'
           and coalesce(c.last_order_at, c.created_at) < ${at(inactiveSince)}
           and not exists (
             select 1 from message_queue m
              where m.customer_id = c.id and m.type = 'INACTIVITY' and m.created_at > ${at(cooldownSince)})`,
    });
    return {
      date,
      queued: result.queuedIds.length,
      skipped: result.skipped,
      scheduledFor: result.scheduledFor.toISOString(),
    };
  });
}
