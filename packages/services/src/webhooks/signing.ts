import { createHmac, randomBytes } from 'node:crypto';

/** Headers of every delivery (see docs/webhooks.md). */
export const WEBHOOK_HEADERS = {
  eventId: 'Touch-Event-Id',
  eventType: 'Touch-Event-Type',
  deliveryId: 'Touch-Delivery-Id',
  timestamp: 'Touch-Timestamp',
  signature: 'Touch-Signature',
} as const;

/** A fresh signing secret: `whsec_` and 32 random bytes, base64url. The HMAC key is the whole string. */
export const generateWebhookSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** `v1=` and the hex HMAC-SHA256, keyed with the secret, of `${timestamp}.${body}`. */
export const signWebhook = (secret: string, timestamp: number, body: string) =>
  `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/** The headers of one attempt: a fresh timestamp (Unix seconds) and its signature. */
export function webhookHeaders(
  delivery: { id: string; eventId: string; eventType: string; secret: string },
  body: string,
  now: Date,
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'TouchCRM-Webhooks/1',
    [WEBHOOK_HEADERS.eventId]: delivery.eventId,
    [WEBHOOK_HEADERS.eventType]: delivery.eventType,
    [WEBHOOK_HEADERS.deliveryId]: delivery.id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: signWebhook(delivery.secret, timestamp, body),
  };
}
