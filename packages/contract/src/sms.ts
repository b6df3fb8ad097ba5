import { z } from 'zod';
import { safeString } from './common.ts';

/** The http provider's inbound callback: `POST /api/v1/sms/inbound/http`, signed (docs/campaigns-and-sms.md). */
export const httpInboundSmsInput = z.object({
  /** The gateway's id of the message: a second callback with the same id changes nothing. */
  id: safeString.trim().min(1).max(200),
  from: safeString.trim().min(1).max(64),
  to: safeString.trim().max(64).optional(),
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
