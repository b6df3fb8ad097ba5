import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, queryBoolean, safeString, syncPaginated, syncQuery } from './common.ts';
import { moneySchema } from './money.ts';

export const discountTypes = ['PERCENTAGE', 'FIXED_AMOUNT'] as const;
export const discountTypeSchema = z.enum(discountTypes);
export const promotionConditions = ['FIRST_PURCHASE', 'MIN_PURCHASE', 'CUSTOMER_LEVEL', 'REFERRAL', 'MANUAL'] as const;
export const promotionConditionSchema = z.enum(promotionConditions);
export const customerPromotionStatuses = ['ACTIVE', 'REDEEMED', 'REVOKED'] as const;
export const customerPromotionStatusSchema = z.enum(customerPromotionStatuses);

export const promotionSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    code: z.string().nullable(),
    description: z.string().nullable(),
    discountType: discountTypeSchema,
    /** Percent (1–100) for PERCENTAGE, minor units for FIXED_AMOUNT. */
    discountValue: z.number().int(),
    conditionType: promotionConditionSchema,
    minPurchaseAmount: moneySchema.nullable(),
    customerLevelId: idSchema.nullable(),
    startsAt: isoDateTime.nullable(),
    endsAt: isoDateTime.nullable(),
    validityDays: z.number().int().nullable(),
    isActive: z.boolean(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Promotion' });
export type Promotion = z.infer<typeof promotionSchema>;

/** A promotion held by one customer: assigned, then redeemed once (or revoked). */
export const customerPromotionSchema = z
  .object({
    id: idSchema,
    customerId: idSchema,
    promotion: z.object({
      id: idSchema,
      name: z.string(),
      code: z.string().nullable(),
      discountType: discountTypeSchema,
      discountValue: z.number().int(),
      conditionType: promotionConditionSchema,
    }),
    status: customerPromotionStatusSchema,
    /** Why it was assigned: the promotion's condition, or MANUAL. */
    source: z.string(),
    sourceOrderId: idSchema.nullable(),
    assignedAt: isoDateTime,
    expiresAt: isoDateTime.nullable(),
    redeemedAt: isoDateTime.nullable(),
    redeemedOrderId: idSchema.nullable(),
  })
  .meta({ id: 'CustomerPromotion' });
export type CustomerPromotion = z.infer<typeof customerPromotionSchema>;

const code = safeString
  .trim()
  .min(3)
  .max(32)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, underscore and dash only')
  .transform((value) => value.toUpperCase())
  .meta({ example: 'WELCOME10', description: 'Stored upper-case; redeeming by code ignores case' });

export interface PromotionRules {
  discountType: z.infer<typeof discountTypeSchema>;
  discountValue: number;
  conditionType: z.infer<typeof promotionConditionSchema>;
  minPurchaseAmount?: number | null;
  customerLevelId?: string | null;
  startsAt?: string | Date | null;
  endsAt?: string | Date | null;
}

/**
 * The rules that span fields, shared by create (in the schema) and update (on the merged
 * promotion in the service), so both reject exactly the same combinations.
 */
export function promotionRuleIssues(p: PromotionRules): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  if (p.discountType === 'PERCENTAGE' && (p.discountValue < 1 || p.discountValue > 100))
    issues.push({ path: ['discountValue'], message: 'a percentage must be between 1 and 100' });
  if (p.conditionType === 'MIN_PURCHASE' && p.minPurchaseAmount == null)
    issues.push({ path: ['minPurchaseAmount'], message: 'required when conditionType is MIN_PURCHASE' });
  if (p.conditionType !== 'MIN_PURCHASE' && p.minPurchaseAmount != null)
    issues.push({ path: ['minPurchaseAmount'], message: 'only applies when conditionType is MIN_PURCHASE' });
  if (p.conditionType === 'CUSTOMER_LEVEL' && p.customerLevelId == null)
    issues.push({ path: ['customerLevelId'], message: 'required when conditionType is CUSTOMER_LEVEL' });
  if (p.conditionType !== 'CUSTOMER_LEVEL' && p.customerLevelId != null)
    issues.push({ path: ['customerLevelId'], message: 'only applies when conditionType is CUSTOMER_LEVEL' });
  if (p.startsAt && p.endsAt && new Date(p.endsAt).getTime() <= new Date(p.startsAt).getTime())
    issues.push({ path: ['endsAt'], message: 'must be after startsAt' });
  return issues;
}

const promotionFields = {
  name: safeString.trim().min(1).max(200),
  code: code.optional(),
  description: safeString.trim().max(2000).optional(),
  discountType: discountTypeSchema,
  discountValue: z.number().int().min(1).max(1_000_000_000_000),
  conditionType: promotionConditionSchema,
  minPurchaseAmount: moneySchema.optional(),
  customerLevelId: idSchema.optional(),
  startsAt: isoDateTime.optional(),
  endsAt: isoDateTime.optional(),
  /** Days an assigned promotion stays usable; endsAt caps it when earlier. */
  validityDays: z.number().int().min(1).max(3650).optional(),
  isActive: z.boolean().default(true),
};

export const createPromotionInput = z.object(promotionFields).superRefine((value, ctx) => {
  for (const issue of promotionRuleIssues(value)) ctx.addIssue({ code: 'custom', ...issue });
});
export type CreatePromotionInput = z.infer<typeof createPromotionInput>;

/** Every field optional; null clears an optional one. The merged result is checked like a create. */
export const updatePromotionInput = z.object({
  id: idSchema,
  name: promotionFields.name.optional(),
  code: code.nullable().optional(),
  description: promotionFields.description.unwrap().nullable().optional(),
  discountType: discountTypeSchema.optional(),
  discountValue: promotionFields.discountValue.optional(),
  conditionType: promotionConditionSchema.optional(),
  minPurchaseAmount: moneySchema.nullable().optional(),
  customerLevelId: idSchema.nullable().optional(),
  startsAt: isoDateTime.nullable().optional(),
  endsAt: isoDateTime.nullable().optional(),
  validityDays: promotionFields.validityDays.unwrap().nullable().optional(),
  isActive: z.boolean().optional(),
});
export type UpdatePromotionInput = z.infer<typeof updatePromotionInput>;

export const listPromotionsInput = z.object({
  ...pageQuery,
  ...syncQuery,
  /** true: usable now (active, started, not ended); false: everything else. */
  active: queryBoolean.optional(),
  conditionType: promotionConditionSchema.optional(),
  search: safeString.trim().min(1).max(200).optional(),
  sort: z.enum(['name', 'createdAt', 'endsAt', '-name', '-createdAt', '-endsAt']).default('-createdAt'),
});
export type ListPromotionsInput = z.infer<typeof listPromotionsInput>;
export const promotionPage = syncPaginated(promotionSchema);

export const assignPromotionInput = z.object({
  id: idSchema,
  customerIds: z.array(idSchema).min(1).max(1000),
});
export type AssignPromotionInput = z.infer<typeof assignPromotionInput>;

export const assignPromotionOutput = z
  .object({
    assigned: z.array(customerPromotionSchema),
    skipped: z.array(
      z.object({
        customerId: idSchema,
        /** NOT_FOUND covers unknown, deleted and other reps' customers alike. */
        reason: z.enum(['ALREADY_ASSIGNED', 'NOT_FOUND']),
      }),
    ),
  })
  .meta({ id: 'PromotionAssignment' });
export type AssignPromotionOutput = z.infer<typeof assignPromotionOutput>;
