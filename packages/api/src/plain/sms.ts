import {
  httpInboundSmsInput,
  httpSmsStatusInput,
  twilioInboundSmsInput,
  twilioSmsStatusInput,
} from '@touch-crm/contract';
import { receiveInboundSms, recordDeliveryReceipt, type ServiceDeps, ValidationError } from '@touch-crm/services';
import type { z } from 'zod';
import { REST_PREFIX } from '../openapi-document.ts';
import type { PlainRoute } from './route.ts';
import { answering } from './route.ts';
import { verifyHttpSms, verifyTwilio } from './sms-signatures.ts';

/** An empty TwiML answer: replies go through our queue (consent, quiet hours, records), not TwiML. */
const twiml = () =>
  new Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', {
    headers: { 'content-type': 'text/xml; charset=utf-8' },
  });

/** The URL Twilio called, as it signed it: PUBLIC_URL, the route's path and the query string. */
function twilioUrl(deps: ServiceDeps, request: Request, path: string): string | null {
  const base = deps.config.PUBLIC_URL?.replace(/\/+$/, '');
  return base ? `${base}${REST_PREFIX}${path}${new URL(request.url).search}` : null;
}

/** A Twilio callback's form parameters, after its signature checks out (else 403), through `schema` (else 400). */
async function signedTwilioForm<T extends z.ZodType>(
  deps: ServiceDeps,
  request: Request,
  path: string,
  schema: T,
): Promise<z.infer<T>> {
  const params = new URLSearchParams(await request.text());
  verifyTwilio(
    deps.config.TWILIO_AUTH_TOKEN,
    twilioUrl(deps, request, path),
    params,
    request.headers.get('x-twilio-signature'),
  );
  return schema.parse(Object.fromEntries(params));
}

/** A signed http-provider callback's raw JSON (else 403). */
async function signedHttpBody(deps: ServiceDeps, request: Request): Promise<unknown> {
  const raw = await request.text();
  verifyHttpSms(deps.config.SMS_INBOUND_SECRET, request.headers, raw, deps.now(), deps.config.SMS_INBOUND_TOLERANCE);
  try {
    return JSON.parse(raw);
  } catch {
    throw ValidationError.field('body', 'expected a JSON object');
  }
}

/**
 * The carriers' callbacks: public (no session, no API key; carriers cannot send one) but signed,
 * each refused with 403 unless its signature checks out. See docs/campaigns-and-sms.md.
 */
export function smsRoutes(deps: ServiceDeps): PlainRoute[] {
  return [
    {
      method: 'POST',
      path: '/sms/inbound/twilio',
      handle: answering(async (request) => {
        const form = await signedTwilioForm(deps, request, '/sms/inbound/twilio', twilioInboundSmsInput);
        const sid = form.MessageSid || form.SmsSid;
        // A signed request without the fields is Twilio's to fix; retrying it cannot help.
        if (sid && form.From)
          await receiveInboundSms(deps, {
            provider: 'twilio',
            providerMessageId: sid,
            from: form.From,
            to: form.To || null,
            body: form.Body ?? '',
          });
        return twiml();
      }),
    },
    {
      method: 'POST',
      path: '/sms/inbound/http',
      handle: answering(async (request) => {
        const input = httpInboundSmsInput.parse(await signedHttpBody(deps, request));
        const result = await receiveInboundSms(deps, {
          provider: 'http',
          providerMessageId: input.id,
          from: input.from,
          to: input.to ?? null,
          body: input.body,
        });
        return Response.json({ id: result.messageId, duplicate: result.duplicate });
      }),
    },
    {
      method: 'POST',
      path: '/sms/status/twilio',
      handle: answering(async (request) => {
        const form = await signedTwilioForm(deps, request, '/sms/status/twilio', twilioSmsStatusInput);
        const sid = form.MessageSid || form.SmsSid;
        const status = form.MessageStatus || form.SmsStatus;
        if (sid && status)
          await recordDeliveryReceipt(deps, {
            provider: 'twilio',
            providerMessageId: sid,
            status,
            errorCode: form.ErrorCode || null,
            at: null,
          });
        return new Response(null, { status: 204 });
      }),
    },
    {
      method: 'POST',
      path: '/sms/status/http',
      handle: answering(async (request) => {
        const input = httpSmsStatusInput.parse(await signedHttpBody(deps, request));
        const result = await recordDeliveryReceipt(deps, {
          provider: 'http',
          providerMessageId: input.id,
          status: input.status,
          errorCode: input.errorCode ?? null,
          at: input.at ? new Date(input.at) : null,
        });
        return Response.json(result);
      }),
    },
  ];
}
