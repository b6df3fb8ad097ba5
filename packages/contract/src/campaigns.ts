import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, paginated, safeString } from './common.ts';
import { customerStatusSchema } from './customers.ts';
import { templateBody } from './messages.ts';
import { moneyTotalSchema } from './money.ts';

/** RFM segments the daily scoring assigns (see the segment table in docs/rfm-and-levels.md). */
export const rfmSegmentSchema = z.enum([
  'Champions',
  'Loyal',
  'Potential Loyalist',
  'New',
  'Promising',
  'Need Attention',
  'About to Sleep',
  'At Risk',
  "Can't Lose",
  'Hibernating',
  'Lost',
]);
export type RfmSegment = z.infer<typeof rfmSegmentSchema>;

const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(100);

/** Which live customers a campaign reaches; every given condition must hold (empty: everyone). */
export const campaignAudienceSchema = z
  .object({
    statuses: nonEmpty(customerStatusSchema).optional(),
    levelIds: nonEmpty(idSchema).optional(),
    ownerIds: nonEmpty(idSchema).optional(),
    segments: nonEmpty(rfmSegmentSchema).optional(),
    /** Last non-cancelled order strictly before this time (customers without orders never match). */
    lastOrderBefore: isoDateTime.optional(),
    lastOrderAfter: isoDateTime.optional(),
    /** Lifetime spend of at least this many minor units. */
    minTotalSpent: moneyTotalSchema.optional(),
    birthdayMonth: z.number().int().min(1).max(12).optional(),
  })
  .strict()
  .meta({ id: 'CampaignAudience' });
export type CampaignAudience = z.infer<typeof campaignAudienceSchema>;

export const campaignStatuses = ['DRAFT', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'CANCELLED'] as const;
export const campaignStatusSchema = z.enum(campaignStatuses);

export const campaignCountsSchema = z.object({
  /** Recipients when executed; before that, the audience's current size (null in lists). */
  audience: z.number().int().nullable(),
  /** Waiting for or in delivery (QUEUED and SENDING). */
  queued: z.number().int(),
  /** Handed to the carrier (SENT, DELIVERED and UNDELIVERED). */
  sent: z.number().int(),
  /** Of those sent, what the carrier's receipts said. */
  delivered: z.number().int(),
  undelivered: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  cancelled: z.number().int(),
});

export const campaignSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    /** Template with {{variables}}, rendered per recipient. */
    message: z.string(),
    audience: campaignAudienceSchema,
    promotion: z.object({ id: idSchema, name: z.string(), code: z.string().nullable() }).nullable(),
    status: campaignStatusSchema,
    scheduledAt: isoDateTime.nullable(),
    startedAt: isoDateTime.nullable(),
    completedAt: isoDateTime.nullable(),
    cancelledAt: isoDateTime.nullable(),
    counts: campaignCountsSchema,
    createdById: idSchema.nullable(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Campaign' });
export type Campaign = z.infer<typeof campaignSchema>;

export const createCampaignInput = z.object({
  name: safeString.trim().min(1).max(200),
  /** Defaults to the CAMPAIGN message template. */
  message: templateBody.optional(),
  audience: campaignAudienceSchema.default({}),
  /** Assigned to every recipient at execution; its code is {{promotionCode}}. */
  promotionId: idSchema.optional(),
  /** Executed by the worker at this time; without it the campaign is a DRAFT until executed. */
  scheduledAt: isoDateTime.optional(),
});
export type CreateCampaignInput = z.infer<typeof createCampaignInput>;

/** Only while DRAFT or SCHEDULED. `scheduledAt: null` turns a scheduled campaign back into a draft. */
export const updateCampaignInput = z.object({
  id: idSchema,
  name: safeString.trim().min(1).max(200).optional(),
  message: templateBody.optional(),
  audience: campaignAudienceSchema.optional(),
  promotionId: idSchema.nullable().optional(),
  scheduledAt: isoDateTime.nullable().optional(),
});
export type UpdateCampaignInput = z.infer<typeof updateCampaignInput>;

export const listCampaignsInput = z.object({
  ...pageQuery,
  status: campaignStatusSchema.optional(),
  sort: z.enum(['createdAt', '-createdAt', 'scheduledAt', '-scheduledAt', 'name', '-name']).default('-createdAt'),
});
export type ListCampaignsInput = z.infer<typeof listCampaignsInput>;
export const campaignPage = paginated(campaignSchema);

export const campaignPreviewSchema = z
  .object({
    /** Live customers matching the audience now. */
    audienceSize: z.number().int(),
    /** Of those, how many would be skipped for having opted out of marketing SMS. */
    optedOut: z.number().int(),
    /** Of those who would get it, how many quiet hours in their own time zone would hold now. */
    held: z.number().int(),
    /** When the last of the held messages would go (null: none held). */
    heldUntil: isoDateTime.nullable(),
    /** Of those who would get it, how many have reached the marketing frequency cap now (theirs waits for a free slot). */
    heldByCap: z.number().int(),
    /** A few recipients with their rendered message. */
    samples: z.array(z.object({ customerId: idSchema, phone: z.string(), body: z.string() })),
  })
  .meta({ id: 'CampaignPreview' });
export type CampaignPreview = z.infer<typeof campaignPreviewSchema>;
