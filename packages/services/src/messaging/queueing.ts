import type { MessageType } from '@touch-crm/contract';
import type { Executor } from '@touch-crm/db';
import { type SQL, sql } from 'drizzle-orm';
import type { ServiceDeps } from '../deps.ts';
import { enqueueDelivery } from '../jobs/queue.ts';
import { at } from '../lib/sql.ts';
import { SKIPPED_UNDELIVERABLE } from './carrier-errors.ts';
import { isMarketing, priorityOf, SKIPPED_OPTED_OUT, SKIPPED_WITHDRAWN, sentEvenIfWithdrawn } from './policy.ts';
import { nextAllowedSql } from './quiet-hours.ts';
import { renderSql } from './template-language.ts';
import { nextAllowedMinute } from './time.ts';

export interface MessagesToQueue {
  type: MessageType;
  /**
   * A SELECT of the recipients with the columns customer_id, phone, sms_opt_in, first_name,
   * last_name, level_name and idempotency_key (plus promotion_name, promotion_code for templates
   * that use them). It runs as one INSERT … SELECT, however many recipients.
   */
  recipients: SQL;
  template: string;
  campaignId?: string;
  now: Date;
}

export interface QueuedMessages {
  /** Ids of the messages queued for delivery. */
  queuedIds: string[];
  /** Rows written SKIPPED (opted out). */
  skipped: number;
  /** When delivery starts: now, or the earliest end of quiet hours among the recipients for marketing messages. */
  scheduledFor: Date;
}

/**
 * Writes one message per recipient in one INSERT … SELECT and their delivery jobs, all in
 * `tx`. The idempotency key makes a repeated or concurrent run insert nothing twice. Messages to
 * customers who withdrew consent are written SKIPPED with the reason (all but the opt-out
 * confirmation); marketing during quiet hours is scheduled for the next allowed minute.
 */
export async function queueMessages(deps: ServiceDeps, tx: Executor, input: MessagesToQueue): Promise<QueuedMessages> {
  const { config } = deps;
  const marketing = isMarketing(input.type);
  // Marketing waits for the end of quiet hours in each recipient's own time zone (their
  // `time_zone`, else APP_TIMEZONE); everything else goes at once.
  const recipientZone = sql`coalesce(tz.time_zone, ${config.APP_TIMEZONE})`;
  const due = marketing ? nextAllowedSql(input.now, config.SMS_QUIET_HOURS, recipientZone) : at(input.now);
  const body = renderSql(input.template, {
    firstName: sql`r.first_name`,
    lastName: sql`r.last_name`,
    level: sql`r.level_name`,
    promotionName: sql`r.promotion_name`,
    promotionCode: sql`r.promotion_code`,
  });
  const optedOut = sentEvenIfWithdrawn(input.type) ? sql`false` : sql`not r.sms_opt_in`;
  const skippedOptedOut = marketing ? SKIPPED_OPTED_OUT : SKIPPED_WITHDRAWN;
  // Marketing skips a phone the carrier called undeliverable, until the customer's phone changes.
  const undeliverable = marketing
    ? sql`exists (select 1 from customers u where u.id = r.customer_id and u.phone_undeliverable_at is not null)`
    : sql`false`;
  const rows = await tx.execute<{ id: string; queued: boolean; scheduled_for: string | Date }>(sql`
    with r as (${input.recipients})
    insert into message_queue
      (customer_id, phone, body, type, campaign_id, status, last_error, scheduled_for, idempotency_key, created_at, updated_at)
    select r.customer_id, r.phone, ${body}, ${input.type}::message_type, ${input.campaignId ?? null}::uuid,
           case when ${optedOut} or ${undeliverable} then 'SKIPPED' else 'QUEUED' end::message_status,
           case when ${optedOut} then ${skippedOptedOut} when ${undeliverable} then ${SKIPPED_UNDELIVERABLE} end,
           ${due}, r.idempotency_key, ${at(input.now)}, ${at(input.now)}
      from r left join customers tz on tz.id = r.customer_id
    on conflict (idempotency_key) do nothing
    returning id, status = 'QUEUED' as queued, scheduled_for`);
  const queuedIds: string[] = [];
  // One group of jobs per start time: recipients in one time zone share theirs.
  const byStart = new Map<number, string[]>();
  let skipped = 0;
  for (const row of rows) {
    if (!row.queued) {
      skipped += 1;
      continue;
    }
    queuedIds.push(row.id);
    const start = new Date(row.scheduled_for).getTime();
    const group = byStart.get(start);
    if (group) group.push(row.id);
    else byStart.set(start, [row.id]);
  }
  for (const [start, ids] of byStart)
    await enqueueDelivery(deps.jobs, tx, ids, {
      batchSize: config.SMS_BATCH_SIZE,
      startAfter: start > input.now.getTime() ? new Date(start) : undefined,
      priority: priorityOf(input.type),
    });
  const starts = [...byStart.keys()];
  const scheduledFor =
    starts.length > 0
      ? new Date(Math.min(...starts))
      : marketing
        ? nextAllowedMinute(input.now, config.SMS_QUIET_HOURS, config.APP_TIMEZONE)
        : input.now;
  return { queuedIds, skipped, scheduledFor };
}
