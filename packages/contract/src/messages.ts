import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, safeString, syncPaginated, syncQuery } from './common.ts';

/**
 * The outbound types each have a template; REPLY is a text the customer sent us (direction INBOUND).
 * MANUAL and MANUAL_MARKETING are one-to-one texts (transactional, marketing).
 * OPT_OUT_CONFIRMATION, OPT_IN_CONFIRMATION and HELP answer the keywords STOP, START and HELP.
 */
export const messageTypes = [
  'WELCOME',
  'BIRTHDAY',
  'INACTIVITY',
  'CAMPAIGN',
  'PROMOTION',
  'MANUAL',
  'MANUAL_MARKETING',
  'OPT_OUT_CONFIRMATION',
  'OPT_IN_CONFIRMATION',
  'HELP',
  'REPLY',
] as const;
export const messageTypeSchema = z.enum(messageTypes);
export type MessageType = z.infer<typeof messageTypeSchema>;
/** The types that have an editable template (every outbound type). */
export const templatedMessageTypes = messageTypes.filter(
  (type): type is Exclude<MessageType, 'REPLY'> => type !== 'REPLY',
);
export const templatedMessageTypeSchema = z.enum(templatedMessageTypes);
export type TemplatedMessageType = z.infer<typeof templatedMessageTypeSchema>;

/**
 * Outbound: QUEUED → SENDING → SENT | FAILED, then DELIVERED | UNDELIVERED from the carrier's
 * receipts; SKIPPED (opt-out, deleted customer, undeliverable phone) and CANCELLED never reach a
 * carrier. Inbound messages are RECEIVED.
 */
export const messageStatuses = [
  'QUEUED',
  'SENDING',
  'SENT',
  'FAILED',
  'SKIPPED',
  'CANCELLED',
  'DELIVERED',
  'UNDELIVERED',
  'RECEIVED',
] as const;
export const messageStatusSchema = z.enum(messageStatuses);
export type MessageStatus = z.infer<typeof messageStatusSchema>;

export const messageDirections = ['OUTBOUND', 'INBOUND'] as const;
export const messageDirectionSchema = z.enum(messageDirections);

export const messageSchema = z
  .object({
    id: idSchema,
    customerId: idSchema.nullable(),
    /** E.164. */
    phone: z.string(),
    body: z.string(),
    /** OUTBOUND: we text the customer; INBOUND: the customer (or an unknown number) texted us. */
    direction: messageDirectionSchema,
    type: messageTypeSchema,
    campaignId: idSchema.nullable(),
    status: messageStatusSchema,
    /** Carrier calls made so far. */
    attempts: z.number().int(),
    /** Why the last attempt failed, or why the message was skipped or cancelled. */
    lastError: z.string().nullable(),
    provider: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    /** When it is due to go out; once handed to the carrier, when the last attempt started. */
    scheduledFor: isoDateTime,
    sentAt: isoDateTime.nullable(),
    /** When the carrier reported DELIVERED or UNDELIVERED (the carrier's time when it gives one). */
    deliveryReportedAt: isoDateTime.nullable(),
    /** The carrier's error code of an UNDELIVERED or FAILED message (e.g. Twilio `30003`). */
    carrierErrorCode: z.string().nullable(),
    /** Unique per logical message and sent to the carrier, so a retry is never a second SMS. */
    idempotencyKey: z.string(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof messageSchema>;

export const listMessagesInput = z.object({
  ...pageQuery,
  ...syncQuery,
  customerId: idSchema.optional(),
  campaignId: idSchema.optional(),
  status: messageStatusSchema.optional(),
  type: messageTypeSchema.optional(),
  direction: messageDirectionSchema.optional(),
  sort: z.enum(['createdAt', '-createdAt', 'scheduledFor', '-scheduledFor', 'sentAt', '-sentAt']).default('-createdAt'),
});
export type ListMessagesInput = z.infer<typeof listMessagesInput>;
export const messagePage = syncPaginated(messageSchema);

export const messageTemplateSchema = z
  .object({
    type: templatedMessageTypeSchema,
    body: z.string(),
    /** The {{variables}} this type's template may use. */
    variables: z.array(z.string()),
    updatedById: idSchema.nullable(),
    updatedAt: isoDateTime,
  })
  .meta({ id: 'MessageTemplate' });
export type MessageTemplate = z.infer<typeof messageTemplateSchema>;

/** SMS text with {{variables}}; at most 10 concatenated segments. */
export const templateBody = safeString
  .trim()
  .min(1)
  .max(1600)
  .meta({ example: 'Happy birthday, {{firstName}}! Show code {{promotionCode}} for a treat.' });

export const updateMessageTemplateInput = z.object({ type: templatedMessageTypeSchema, body: templateBody });
export type UpdateMessageTemplateInput = z.infer<typeof updateMessageTemplateInput>;
