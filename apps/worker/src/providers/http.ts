import type { OutgoingSms, SendOutcome, SmsProvider } from '@touch-crm/services';
import { type HttpClient, networkFailure, outcomeOf } from './http-client.ts';

/**
 * A generic JSON gateway: `POST SMS_HTTP_URL` with `Authorization: Bearer SMS_HTTP_TOKEN`,
 * `Idempotency-Key: <key>` and `{ to, body, idempotencyKey, messageId }`. A 2xx answer may carry
 * `{ id }` (or `messageId`), kept as the provider message id: a string (or integer) of up to 128
 * printable ASCII characters, else the send is FAILED (outcomeOf).
 */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  readonly #url: URL;
  readonly #token: string | undefined;
  readonly #client: HttpClient;

  constructor(options: { url: string; token?: string; client: HttpClient }) {
    this.#url = new URL(options.url);
    this.#token = options.token;
    this.#client = options.client;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': sms.idempotencyKey,
    };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const body = JSON.stringify({
      to: sms.to,
      body: sms.body,
      idempotencyKey: sms.idempotencyKey,
      messageId: sms.messageId,
    });
    try {
      const response = await this.#client.post(this.#url, headers, body);
      return outcomeOf(
        response,
        (parsed) => {
          const value = (parsed as { id?: unknown; messageId?: unknown } | undefined) ?? {};
          return value.id ?? value.messageId;
        },
        (parsed) => {
          const error = (parsed as { error?: unknown; message?: unknown } | undefined) ?? {};
          const text = error.message ?? error.error;
          return typeof text === 'string' ? text : undefined;
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
