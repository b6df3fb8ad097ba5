import { z } from 'zod';
import { idSchema, isoDateTime } from './common.ts';

/** What a consent is for: marketing texts, or transactional ones where the customer said so apart. */
export const consentPurposes = ['marketing', 'transactional'] as const;
export const consentPurposeSchema = z.enum(consentPurposes);
export type ConsentPurpose = z.infer<typeof consentPurposeSchema>;

export const consentActions = ['granted', 'withdrawn'] as const;
export const consentActionSchema = z.enum(consentActions);
export type ConsentAction = z.infer<typeof consentActionSchema>;

/**
 * Where a consent change came from: the API (create, update), a CSV import, a keyword the customer
 * texted, the carrier (Twilio 21610: the recipient unsubscribed), or an administrator (the backfill
 * of customers that existed before the consent record).
 */
export const consentSources = ['api', 'import', 'inbound_keyword', 'carrier', 'admin'] as const;
export const consentSourceSchema = z.enum(consentSources);
export type ConsentSource = z.infer<typeof consentSourceSchema>;

export const consentEventSchema = z
  .object({
    id: idSchema,
    customerId: idSchema,
    purpose: consentPurposeSchema,
    action: consentActionSchema,
    source: consentSourceSchema,
    /** The user who made the change, if a user did. */
    actorUserId: idSchema.nullable(),
    /** The job or endpoint that made the change when no user did (e.g. `sms-inbound`, the carriers' callbacks). */
    actorJob: z.string().nullable(),
    /** Proof of the change: the disclosure shown, the inbound message id and text, the carrier's error. */
    evidence: z.record(z.string(), z.unknown()),
    occurredAt: isoDateTime,
  })
  .meta({ id: 'ConsentEvent' });
export type ConsentEvent = z.infer<typeof consentEventSchema>;

export const customerConsentSchema = z
  .object({
    customerId: idSchema,
    /** The current marketing consent (`smsOptIn`), derived from the latest marketing entry. */
    marketing: consentActionSchema,
    /** Where the current marketing consent came from. */
    marketingSource: consentSourceSchema.nullable(),
    /** Every change, oldest first. */
    history: z.array(consentEventSchema),
  })
  .meta({ id: 'CustomerConsent' });
export type CustomerConsent = z.infer<typeof customerConsentSchema>;
