import type { Executor } from '@touch-crm/db';
import { sql } from 'drizzle-orm';
import { at } from '../lib/sql.ts';
import type { Answered } from './delivery-types.ts';
import { marketingTypesSql } from './policy.ts';

/** Twilio 21610: the recipient replied STOP to the sending number; the carrier blocks us until START. */
export const UNSUBSCRIBED_CODES = new Set(['21610']);
/**
 * The number cannot receive SMS: not a valid number (21211), not a mobile number (21614),
 * unreachable (30003), unknown or inactive (30005), a landline or unreachable carrier (30006).
 */
export const UNDELIVERABLE_CODES = new Set(['21211', '21614', '30003', '30005', '30006']);

export const SKIPPED_UNDELIVERABLE = 'the carrier says this phone cannot receive SMS';
export const SKIPPED_CARRIER_UNSUBSCRIBED = 'the carrier says the customer unsubscribed (opted out of marketing SMS)';

/** The carrier's error code in a failure reason as the providers write it ("… (Twilio error 21610)"). */
export function carrierErrorCodeOf(reason: string | null | undefined): string | null {
  const match = reason ? /\(Twilio error (\d+)\)/.exec(reason) : null;
  return match ? (match[1] as string) : null;
}

/** A message the carrier refused or could not deliver, with its error code. */
export interface CarrierFailure {
  messageId: string;
  customerId: string | null;
  phone: string;
  code: string;
}

/**
 * The refusals among carrier answers that carry an error code; with `recorded`, only those whose
 * outcome was written (the row was still this attempt's).
 */
export function carrierFailuresOf(
  answered: readonly Answered[],
  recorded?: readonly { id: string; status: string }[],
): CarrierFailure[] {
  const written = recorded ? new Set(recorded.filter((row) => row.status === 'FAILED').map((row) => row.id)) : null;
  const failures: CarrierFailure[] = [];
  for (const { message, outcome } of answered) {
    const code = outcome.status === 'sent' ? null : carrierErrorCodeOf(outcome.error);
    if (code && (!written || written.has(message.id)))
      failures.push({ messageId: message.id, customerId: message.customer_id, phone: message.phone, code });
  }
  return failures;
}

/**
 * What a carrier's error says about the recipient, applied set-based on `executor` in one statement:
 * every failure's code is kept on its message; 21610 withdraws the customer's marketing consent
 * (source `carrier`, with the message and code as evidence); the undeliverable codes mark the
 * phone, until it changes. Either way the customer's queued marketing is SKIPPED.
 */
export async function applyCarrierErrors(
  executor: Executor,
  failures: readonly CarrierFailure[],
  now: Date,
  actorJob: string,
): Promise<void> {
  if (failures.length === 0) return;
  const rows = failures.map((failure) => ({
    message_id: failure.messageId,
    customer_id: failure.customerId,
    phone: failure.phone,
    code: failure.code,
    kind: UNSUBSCRIBED_CODES.has(failure.code)
      ? 'unsubscribed'
      : UNDELIVERABLE_CODES.has(failure.code)
        ? 'undeliverable'
        : null,
  }));
  await executor.execute(sql`
    with v as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as v(message_id uuid, customer_id uuid, phone text, code text, kind text)
    ), coded as (
      update message_queue m set carrier_error_code = v.code from v where m.id = v.message_id returning m.id
    ), unsubscribed as (
      update customers c set sms_opt_in = false, updated_at = ${at(now)}
        from (select distinct on (customer_id) * from v where kind = 'unsubscribed' and customer_id is not null) v
       where c.id = v.customer_id and c.sms_opt_in
      returning c.id, v.message_id, v.code
    ), consent as (
      insert into consent_events (customer_id, purpose, action, source, actor_job, evidence, occurred_at)
      select u.id, 'marketing', 'withdrawn', 'carrier', ${actorJob},
             jsonb_build_object('messageId', u.message_id, 'carrierErrorCode', u.code), ${at(now)}
        from unsubscribed u
      returning id
    ), undeliverable as (
      update customers c
         set phone_undeliverable_at = ${at(now)}, phone_undeliverable_reason = 'carrier error ' || v.code,
             updated_at = ${at(now)}
        from (select distinct on (customer_id) * from v where kind = 'undeliverable' and customer_id is not null) v
       where c.id = v.customer_id and c.phone = v.phone and c.phone_undeliverable_at is null
      returning c.id
    )
    update message_queue m
       set status = 'SKIPPED', updated_at = ${at(now)},
           last_error = case when v.kind = 'unsubscribed' then ${SKIPPED_CARRIER_UNSUBSCRIBED}
                             else ${SKIPPED_UNDELIVERABLE} end
      from (select distinct on (customer_id) * from v where kind is not null and customer_id is not null) v
     where m.customer_id = v.customer_id and m.status = 'QUEUED' and m.type = any(${marketingTypesSql})`);
}
