import type { OutgoingSms, SendOutcome, SmsProvider } from '@touch-crm/services';
import { type HttpClient, networkFailure, outcomeOf, snippet } from './http-client.ts';

/**
 * Twilio's Programmable Messaging API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded To, Body and From (or MessagingServiceSid), HTTP Basic auth with the account SID
 * and auth token. The base URL is configurable (TWILIO_BASE_URL) for regional endpoints, proxies
 * and tests. Twilio does not deduplicate by our idempotency key (it is sent as a header for
 * gateways that do): see docs/campaigns-and-sms.md for the one window where that allows a duplicate.
 */
export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio';
  readonly #url: URL;
  readonly #authorization: string;
  readonly #from: { From: string } | { MessagingServiceSid: string };
  readonly #callback: { StatusCallback: string } | Record<string, never>;
  readonly #client: HttpClient;

  constructor(options: {
    baseUrl: string;
    accountSid: string;
    authToken: string;
    from?: string;
    messagingServiceSid?: string;
    /** Where Twilio posts delivery receipts (PUBLIC_URL/api/v1/sms/status/twilio); none without PUBLIC_URL. */
    statusCallback?: string;
    client: HttpClient;
  }) {
    const base = options.baseUrl.replace(/\/+$/, '');
    this.#url = new URL(`${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`);
    this.#authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
    this.#from = options.messagingServiceSid
      ? { MessagingServiceSid: options.messagingServiceSid }
      : { From: options.from ?? '' };
    this.#callback = options.statusCallback ? { StatusCallback: options.statusCallback } : {};
    this.#client = options.client;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    const form = new URLSearchParams({ To: sms.to, Body: sms.body, ...this.#from, ...this.#callback });
    try {
      const response = await this.#client.post(
        this.#url,
        {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: this.#authorization,
          'idempotency-key': sms.idempotencyKey,
        },
        form.toString(),
      );
      return outcomeOf(
        response,
        (parsed) => (parsed as { sid?: unknown } | undefined)?.sid,
        (parsed) => {
          const error = parsed as { code?: unknown; message?: unknown } | undefined;
          if (!error || typeof error.message !== 'string') return undefined;
          // Only a number is a code (carrier-errors.ts reads it back from the reason).
          const code = typeof error.code === 'number' || /^\d{1,10}$/.test(String(error.code)) ? error.code : null;
          return code === null ? error.message : `${snippet(error.message)} (Twilio error ${code})`;
        },
      );
    } catch (error) {
      return networkFailure(error);
    }
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}
