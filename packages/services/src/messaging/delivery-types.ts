import type { MessageType } from '@touch-crm/contract';

/** One SMS as a carrier receives it. */
export interface OutgoingSms {
  messageId: string;
  /** E.164. */
  to: string;
  body: string;
  /** Stable across retries and restarts: a carrier that honours it never sends the same message twice. */
  idempotencyKey: string;
}

/**
 * What a carrier call came to: accepted; worth retrying (timeout, network error, 5xx, 429);
 * or refused for good (4xx: bad number, blocked content …).
 */
export type SendOutcome =
  | { status: 'sent'; providerMessageId: string | null }
  | { status: 'retry'; error: string }
  | { status: 'failed'; error: string };

/** The one interface every SMS provider implements (console, http, twilio). */
export interface SmsProvider {
  readonly name: string;
  /** Never throws: every failure is an outcome. */
  send(sms: OutgoingSms): Promise<SendOutcome>;
  close?(): Promise<void>;
}

/** A message this worker claimed (SENDING, `attempts` already counting this call). */
export type ClaimedMessage = {
  id: string;
  phone: string;
  body: string;
  idempotency_key: string;
  attempts: number;
  type: MessageType;
  customer_id: string | null;
  campaign_id: string | null;
};

export type Answered = { message: ClaimedMessage; outcome: SendOutcome };

/** A message row as its outcome left it. */
export type Recorded = {
  id: string;
  status: 'SENT' | 'FAILED' | 'QUEUED';
  type: MessageType;
  customer_id: string | null;
  campaign_id: string | null;
  body: string;
  provider: string | null;
  provider_message_id: string | null;
  last_error: string | null;
  attempts: number;
  scheduled_for: Date;
  sent_at: Date | null;
};
