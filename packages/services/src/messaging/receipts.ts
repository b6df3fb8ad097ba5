import { sql } from 'drizzle-orm';
import { jobActor } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { recordEvents } from '../events/record.ts';
import { at } from '../lib/sql.ts';
import { applyCarrierErrors } from './carrier-errors.ts';

const RECEIPT_JOB = 'sms-status';
export const RECEIPT_ACTOR = jobActor(RECEIPT_JOB);

/** A carrier's delivery receipt for a message it accepted. */
export interface DeliveryReceipt {
  provider: 'twilio' | 'http';
  /** The id the carrier answered the send with (the message's providerMessageId). */
  providerMessageId: string;
  /** The carrier's word: `delivered`; `undelivered` or `failed` (not delivered); anything else is progress. */
  status: string;
  errorCode: string | null;
  /** When the carrier saw it; the receipt's arrival when the carrier does not say. */
  at: Date | null;
}

export interface ReceiptResult {
  /** The message whose status the receipt changed; null when it changed nothing. */
  messageId: string | null;
  status: 'DELIVERED' | 'UNDELIVERED' | null;
}

const FINAL: Record<string, 'DELIVERED' | 'UNDELIVERED'> = {
  delivered: 'DELIVERED',
  undelivered: 'UNDELIVERED',
  failed: 'UNDELIVERED',
};

/**
 * Applies a delivery receipt: a SENT message becomes DELIVERED or UNDELIVERED (with the carrier's
 * error code and time) and records `message.delivered` / `message.undelivered`. Only a SENT row
 * changes, so receipts are idempotent and order-tolerant: a duplicate, or a late `sent` or
 * `queued` after `delivered`, changes nothing. An undelivered code that says the recipient opted
 * out or the phone cannot receive SMS acts as it does on a refused send (carrier-errors.ts).
 *
 * A receipt changes one message at most. Provider ids are not unique in the table (a gateway may
 * count its ids anew after a restart); when several messages carry the id, the receipt is about
 * the one sent last, as a carrier reports within minutes of a send, and changes it only while it
 * is SENT: a repeated receipt changes nothing, never an older message of the same id.
 */
export async function recordDeliveryReceipt(deps: ServiceDeps, receipt: DeliveryReceipt): Promise<ReceiptResult> {
  const status = FINAL[receipt.status.toLowerCase()];
  if (!status) return { messageId: null, status: null };
  const now = deps.now();
  const reportedAt = receipt.at ?? now;
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.execute<{
      id: string;
      customer_id: string | null;
      campaign_id: string | null;
      phone: string;
      type: string;
    }>(sql`
      update message_queue
         set status = ${status}::message_status, delivery_reported_at = ${at(reportedAt)},
             carrier_error_code = coalesce(${receipt.errorCode}, carrier_error_code), updated_at = ${at(now)}
       where status = 'SENT' and id = (
               select id from message_queue
                where provider = ${receipt.provider} and provider_message_id = ${receipt.providerMessageId}
                  and direction = 'OUTBOUND'
                order by sent_at desc nulls last, id desc
                limit 1)
      returning id, customer_id, campaign_id, phone, type`);
    if (!row) return { messageId: null, status: null };
    const delivered = status === 'DELIVERED';
    await recordEvents({ tx, jobs: deps.jobs }, [
      {
        type: delivered ? 'message.delivered' : 'message.undelivered',
        entityType: 'message',
        entityId: row.id,
        customerId: row.customer_id,
        actor: RECEIPT_ACTOR,
        data: {
          id: row.id,
          customerId: row.customer_id,
          campaignId: row.campaign_id,
          type: row.type,
          status,
          carrierErrorCode: receipt.errorCode,
          deliveryReportedAt: reportedAt.toISOString(),
        },
        changes: { status: { before: 'SENT', after: status } },
        // Only a failure is news on the timeline; "SMS sent" is already there.
        ...(delivered
          ? {}
          : {
              timeline: {
                subject: 'SMS not delivered',
                content: receipt.errorCode ? `carrier error ${receipt.errorCode}` : 'no reason given',
              },
            }),
        occurredAt: now,
      },
    ]);
    if (!delivered && receipt.errorCode)
      await applyCarrierErrors(
        tx,
        [{ messageId: row.id, customerId: row.customer_id, phone: row.phone, code: receipt.errorCode }],
        now,
        RECEIPT_JOB,
      );
    return { messageId: row.id, status };
  });
}
