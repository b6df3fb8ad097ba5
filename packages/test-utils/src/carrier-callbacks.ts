import { createHmac } from 'node:crypto';
import type { FakeCarrier } from './carrier.ts';

/**
 * The carrier's side of the callbacks, written from the carriers' documentation independently of
 * the API's verification code, so a test proves the two agree rather than that one agrees with itself.
 */

/** Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL and the sorted POST parameters. */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export interface CallbackResult {
  status: number;
  text: string;
}

/**
 * POSTs a form to `url` as Twilio does, signed with `authToken` for `signedUrl` (the public URL
 * Twilio was given; defaults to `url`). `signature` replaces the computed one (forgeries); null
 * sends none.
 */
export async function postTwilioCallback(
  url: string,
  authToken: string,
  params: Record<string, string>,
  options: { signedUrl?: string; signature?: string | null } = {},
): Promise<CallbackResult> {
  const signature =
    options.signature === undefined
      ? signTwilioRequest(authToken, options.signedUrl ?? url, params)
      : options.signature;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: response.status, text: await response.text() };
}

/** POSTs JSON as the http provider's gateway does: `X-Sms-Timestamp` and `X-Sms-Signature: v1=<hex HMAC-SHA256>`. */
export async function postHttpSmsCallback(
  url: string,
  secret: string,
  body: unknown,
  options: { timestamp?: number; signature?: string | null } = {},
): Promise<CallbackResult> {
  const raw = JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    options.signature === undefined
      ? `v1=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`
      : options.signature;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-sms-timestamp': String(timestamp),
      ...(signature === null ? {} : { 'x-sms-signature': signature }),
    },
    body: raw,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * The fake carrier playing Twilio's status callbacks: posts the receipt of the message it accepted
 * under `idempotencyKey` to the StatusCallback that send carried, signed with `authToken`.
 */
export async function sendTwilioReceipt(
  carrier: FakeCarrier,
  idempotencyKey: string,
  authToken: string,
  status: 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed',
  errorCode?: string,
): Promise<CallbackResult> {
  const request = carrier.requests.find((r) => r.idempotencyKey === idempotencyKey && r.fields.StatusCallback);
  const delivery = carrier.deliveries.get(idempotencyKey);
  if (!request || !delivery) throw new Error(`the carrier never accepted ${idempotencyKey} with a StatusCallback`);
  return postTwilioCallback(String(request.fields.StatusCallback), authToken, {
    AccountSid: 'ACtest',
    MessageSid: `SM${delivery.id}`,
    MessageStatus: status,
    ...(errorCode ? { ErrorCode: errorCode } : {}),
  });
}
