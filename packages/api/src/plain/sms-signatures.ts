import { createHmac, timingSafeEqual } from 'node:crypto';
import { EdgeError } from '../http-error.ts';

const equal = (a: string, b: string) => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

const refused = () => new EdgeError(403, 'FORBIDDEN', 'Missing or invalid signature');

/**
 * Twilio's request validation (its "Webhooks security" documentation): base64 HMAC-SHA1, keyed
 * with the auth token, of the full URL Twilio called followed by every POST parameter's name and
 * value, sorted by name. Written here with node:crypto rather than taken from the `twilio`
 * package, whose validateRequest brings the whole REST client (axios and more) for ten lines.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const sorted = [...params.entries()].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
  const data = url + sorted.map(([name, value]) => name + value).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Throws 403 unless `signature` is Twilio's for this request, compared in constant time. */
export function verifyTwilio(
  authToken: string | undefined,
  url: string | null,
  params: URLSearchParams,
  signature: string | null,
): void {
  if (!authToken || !url || !signature) throw refused();
  if (!equal(twilioSignature(authToken, url, params), signature)) throw refused();
}

/** The http provider's callback headers (the same scheme as our outgoing webhooks). */
export const HTTP_SMS_HEADERS = { timestamp: 'X-Sms-Timestamp', signature: 'X-Sms-Signature' } as const;

/** `v1=` and the hex HMAC-SHA256, keyed with SMS_INBOUND_SECRET, of `${timestamp}.${body}`. */
export const httpSmsSignature = (secret: string, timestamp: number, body: string) =>
  `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * Throws 403 unless the body is signed with the secret under a timestamp (Unix seconds) within
 * `toleranceMs` of now: a captured callback cannot be replayed later.
 */
export function verifyHttpSms(
  secret: string | undefined,
  headers: Headers,
  body: string,
  now: Date,
  toleranceMs: number,
): void {
  const timestamp = Number(headers.get(HTTP_SMS_HEADERS.timestamp));
  const signature = headers.get(HTTP_SMS_HEADERS.signature);
  if (!secret || !signature || !Number.isInteger(timestamp)) throw refused();
  if (Math.abs(now.getTime() - timestamp * 1000) > toleranceMs) throw refused();
  if (!equal(httpSmsSignature(secret, timestamp, body), signature)) throw refused();
}
