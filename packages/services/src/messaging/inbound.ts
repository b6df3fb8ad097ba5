import { DEFAULT_MESSAGE_TEMPLATES, type Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEvents } from '../events/record.ts';
import { at } from '../lib/sql.ts';
import { cleanCarrierText } from './carrier-text.ts';
import { changeMarketingConsent } from './consent.ts';
import { type Keyword, keywordOf } from './keywords.ts';
import { parsePhoneOrKeep } from './phone-lookup.ts';
import { marketingTypesSql } from './policy.ts';
import { queueMessages } from './queueing.ts';

/** The actor of everything an inbound message causes: no user, the carrier's callback. */
export const INBOUND_ACTOR = jobActor('sms-inbound');

/** Ten concatenated SMS: what the carriers' callbacks take, and more than a reply needs. */
const MAX_INBOUND_BODY = 1600;

export const SKIPPED_REPLIED_STOP = 'customer replied STOP: opted out of marketing SMS';

/** A text a customer (or anyone) sent to our number, as the carrier reported it. */
export interface InboundSms {
  provider: 'twilio' | 'http';
  /** The carrier's id of the message: a second report of the same id changes nothing. */
  providerMessageId: string;
  from: string;
  to: string | null;
  body: string;
}

export interface InboundResult {
  messageId: string | null;
  /** The carrier reported this message before. */
  duplicate: boolean;
  customerId: string | null;
  keyword: Keyword | null;
}

type ReplyType = 'OPT_OUT_CONFIRMATION' | 'OPT_IN_CONFIRMATION' | 'HELP';

/** The stored template of a reply type; the seeded default when an upgraded database has none yet. */
async function replyTemplate(tx: Executor, type: ReplyType): Promise<string> {
  const [row] = await tx.execute<{ body: string }>(sql`select body from message_templates where type = ${type}`);
  return row?.body ?? DEFAULT_MESSAGE_TEMPLATES[type];
}

/** Queues one reply to the customer, keyed by the inbound message, so a replayed report never sends two. */
async function queueReply(deps: ServiceDeps, tx: Executor, type: ReplyType, customerId: string, inboundId: string) {
  await queueMessages(deps, tx, {
    type,
    recipients: sql`
      select c.id as customer_id, c.phone, c.sms_opt_in, c.first_name, c.last_name, l.name as level_name,
             ${`${type.toLowerCase()}:${inboundId}`}::text as idempotency_key
        from customers c left join customer_rfm r on r.customer_id = c.id left join customer_levels l on l.id = r.level_id
       where c.id = ${customerId} and c.deleted_at is null`,
    template: await replyTemplate(tx, type),
    now: deps.now(),
  });
}

/**
 * Records an inbound SMS (direction INBOUND, status RECEIVED) with a `message.received` event on
 * the customer's timeline, matched to the live customer with that phone (none for an unknown
 * number), and acts on a keyword in the same transaction:
 *
 * - STOP and its family: marketing consent withdrawn (source `inbound_keyword`), every queued
 *   marketing message to the customer SKIPPED, and one opt-out confirmation.
 * - START / UNSTOP / YES: consent granted again, with a confirmation.
 * - HELP / INFO: the help template, unless the customer has opted out.
 *
 * Idempotent on the carrier's message id.
 */
export async function receiveInboundSms(deps: ServiceDeps, raw: InboundSms): Promise<InboundResult> {
  // The text is the customer's (or a gateway's rendering of it: some turn GSM "@" into NUL): what
  // PostgreSQL cannot store is dropped, so "STOP\0" is still kept, read and acted on.
  const input = { ...raw, body: cleanCarrierText(raw.body, MAX_INBOUND_BODY) };
  const now = deps.now();
  const phone = parsePhoneOrKeep(input.from, deps.config.DEFAULT_PHONE_REGION);
  const keyword = keywordOf(input.body, deps.config.SMS_STOP_KEYWORDS);
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.execute<{ id: string; customer_id: string | null; sms_opt_in: boolean | null }>(sql`
      with c as (select id, sms_opt_in from customers where phone = ${phone} and deleted_at is null limit 1)
      insert into message_queue (customer_id, phone, body, direction, type, status, provider, provider_message_id,
                                 idempotency_key, scheduled_for, sent_at, created_at, updated_at)
      select (select id from c), ${phone}, ${input.body}, 'INBOUND', 'REPLY', 'RECEIVED', ${input.provider},
             ${input.providerMessageId}, ${`inbound:${input.provider}:${input.providerMessageId}`}, ${at(now)},
             ${at(now)}, ${at(now)}, ${at(now)}
      on conflict (idempotency_key) do nothing
      returning id, customer_id, (select sms_opt_in from c)`);
    if (!row) return { messageId: null, duplicate: true, customerId: null, keyword };
    const customerId = row.customer_id;
    await recordEvents({ tx, jobs: deps.jobs }, [
      {
        type: 'message.received',
        entityType: 'message',
        entityId: row.id,
        customerId,
        actor: INBOUND_ACTOR,
        data: {
          id: row.id,
          customerId,
          phone,
          to: input.to,
          body: input.body,
          provider: input.provider,
          providerMessageId: input.providerMessageId,
          keyword,
        },
        timeline: { subject: 'SMS received', content: input.body },
        occurredAt: now,
      },
    ]);
    if (customerId && keyword) await actOnKeyword(deps, tx, keyword, customerId, row, input);
    return { messageId: row.id, duplicate: false, customerId, keyword };
  });
}

async function actOnKeyword(
  deps: ServiceDeps,
  tx: Executor,
  keyword: Keyword,
  customerId: string,
  row: { id: string; sms_opt_in: boolean | null },
  input: InboundSms,
): Promise<void> {
  const now = deps.now();
  const evidence = {
    messageId: row.id,
    provider: input.provider,
    providerMessageId: input.providerMessageId,
    body: input.body,
  };
  if (keyword === 'help') {
    if (row.sms_opt_in) await queueReply(deps, tx, 'HELP', customerId, row.id);
    return;
  }
  const granted = keyword === 'start';
  const changed = await changeMarketingConsent(tx, {
    customerId,
    granted,
    source: 'inbound_keyword',
    actor: INBOUND_ACTOR,
    evidence,
    occurredAt: now,
  });
  // Queued marketing, and marketing claimed by a worker whose call has not started (the fence
  // in front of the carrier finds it SKIPPED): only calls already under way still go.
  if (!granted)
    await tx.execute(sql`
      update message_queue set status = 'SKIPPED', last_error = ${SKIPPED_REPLIED_STOP}, updated_at = ${at(now)}
       where customer_id = ${customerId} and type = any(${marketingTypesSql})
         and (status = 'QUEUED' or (status = 'SENDING' and call_started_at is null))`);
  // A second STOP (or START) changes nothing and is not confirmed again.
  if (changed) await queueReply(deps, tx, granted ? 'OPT_IN_CONFIRMATION' : 'OPT_OUT_CONFIRMATION', customerId, row.id);
}
