import { z } from 'zod';
import { safeString } from './common.ts';

/** The http provider's inbound callback: `POST /api/v1/sms/inbound/http`, signed (docs/campaigns-and-sms.md). */
export const httpInboundSmsInput = z.object({
  /** The gateway's id of the message: a second callback with the same id changes nothing. */
  id: safeString.trim().min(1).max(200),
  from: safeString.trim().min(1).max(64),
  to: safeString.trim().max(64).optional(),
  /** Any text: NUL, other control characters and unpaired surrogates are removed before it is read or kept. */
  body: z.string().max(1600),
});
export type HttpInboundSmsInput = z.infer<typeof httpInboundSmsInput>;

export const carrierDeliveryStatuses = ['sent', 'delivered', 'undelivered', 'failed'] as const;

/** The http provider's delivery receipt: `POST /api/v1/sms/status/http`, signed. */
export const httpSmsStatusInput = z.object({
  /** The id the gateway answered the send with (the message's `providerMessageId`). */
  id: safeString.trim().min(1).max(200),
  status: z.enum(carrierDeliveryStatuses),
  errorCode: safeString.trim().max(32).optional(),
  /** When the carrier saw the status; the receipt's arrival when absent. */
  at: z.iso.datetime({ offset: true }).optional(),
});
export type HttpSmsStatusInput = z.infer<typeof httpSmsStatusInput>;

/** A Twilio message SID (34 characters today), as its callbacks send it. */
const twilioSid = safeString.trim().max(64);

/**
 * The fields of Twilio's inbound webhook (`POST /api/v1/sms/inbound/twilio`, form-encoded, signed)
 * the server reads; Twilio's others are ignored. A request without a SID or `From` is answered
 * and ignored, as retrying it cannot help; a field present but malformed is a 400 naming it.
 */
export const twilioInboundSmsInput = z.object({
  MessageSid: twilioSid.optional(),
  SmsSid: twilioSid.optional(),
  From: safeString.trim().max(64).optional(),
  To: safeString.trim().max(64).optional(),
  /** Cleaned as the http gateway's `body`. */
  Body: z.string().max(1600).optional(),
});
export type TwilioInboundSmsInput = z.infer<typeof twilioInboundSmsInput>;

/** The fields of Twilio's status callback (`POST /api/v1/sms/status/twilio`) the server reads. */
export const twilioSmsStatusInput = z.object({
  MessageSid: twilioSid.optional(),
  SmsSid: twilioSid.optional(),
  MessageStatus: safeString.trim().max(32).optional(),
  SmsStatus: safeString.trim().max(32).optional(),
  ErrorCode: safeString.trim().max(32).optional(),
});
export type TwilioSmsStatusInput = z.infer<typeof twilioSmsStatusInput>;
