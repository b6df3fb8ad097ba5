import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, safeString, syncPaginated, syncQuery } from './common.ts';

export const messageTypes = ['WELCOME', 'BIRTHDAY', 'INACTIVITY', 'CAMPAIGN', 'PROMOTION', 'MANUAL'] as const;
export const messageTypeSchema = z.enum(messageTypes);
export type MessageType = z.infer<typeof messageTypeSchema>;

/** QUEUED → SENDING → SENT | FAILED; SKIPPED (opt-out, deleted customer) and CANCELLED never reach a carrier. */
export const messageStatuses = ['QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED', 'CANCELLED'] as const;
export const messageStatusSchema = z.enum(messageStatuses);

export const messageSchema = z
  .object({
    id: idSchema,
    customerId: idSchema.nullable(),
    /** E.164. */
    phone: z.string(),
    body: z.string(),
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
  sort: z.enum(['createdAt', '-createdAt', 'scheduledFor', '-scheduledFor', 'sentAt', '-sentAt']).default('-createdAt'),
});
export type ListMessagesInput = z.infer<typeof listMessagesInput>;
export const messagePage = syncPaginated(messageSchema);

export const messageTemplateSchema = z
  .object({
    type: messageTypeSchema,
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

export const updateMessageTemplateInput = z.object({ type: messageTypeSchema, body: templateBody });
export type UpdateMessageTemplateInput = z.infer<typeof updateMessageTemplateInput>;
