import type { OutgoingSms, SendOutcome, SmsProvider } from '@touch-crm/services';
import type { Logger } from 'pino';

/** The default: writes each SMS to the log and reports it sent (development, demos). */
export class ConsoleSmsProvider implements SmsProvider {
  readonly name = 'console';
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    this.#log.info(
      { sms: { to: sms.to, body: sms.body, idempotencyKey: sms.idempotencyKey } },
      'SMS (console provider)',
    );
    return { status: 'sent', providerMessageId: `console:${sms.messageId}` };
  }
}
