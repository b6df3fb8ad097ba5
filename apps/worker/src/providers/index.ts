import type { Config } from '@touch-crm/config';
import type { SmsProvider } from '@touch-crm/services';
import type { Logger } from 'pino';
import { ConsoleSmsProvider } from './console.ts';
import { HttpSmsProvider } from './http.ts';
import { HttpClient } from './http-client.ts';
import { TwilioSmsProvider } from './twilio.ts';

export { ConsoleSmsProvider, HttpClient, HttpSmsProvider, TwilioSmsProvider };

/** The provider SMS_PROVIDER names (the configuration schema has checked its settings). */
export function createSmsProvider(config: Config, log: Logger): SmsProvider {
  const client = () => new HttpClient({ timeoutMs: config.SMS_HTTP_TIMEOUT, maxSockets: config.SMS_CONCURRENCY });
  switch (config.SMS_PROVIDER) {
    case 'http':
      return new HttpSmsProvider({
        url: config.SMS_HTTP_URL as string,
        token: config.SMS_HTTP_TOKEN,
        client: client(),
      });
    case 'twilio':
      return new TwilioSmsProvider({
        baseUrl: config.TWILIO_BASE_URL,
        accountSid: config.TWILIO_ACCOUNT_SID as string,
        authToken: config.TWILIO_AUTH_TOKEN as string,
        from: config.TWILIO_FROM,
        messagingServiceSid: config.TWILIO_MESSAGING_SERVICE_SID,
        statusCallback: config.PUBLIC_URL && `${config.PUBLIC_URL.replace(/\/+$/, '')}/api/v1/sms/status/twilio`,
        client: client(),
      });
    default:
      return new ConsoleSmsProvider(log);
  }
}
