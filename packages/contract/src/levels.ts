import { z } from 'zod';
import { idSchema, isoDateTime, safeString } from './common.ts';

/** The highest RFM score (5 + 5 + 5); a threshold above it is never reached. */
export const MAX_RFM_SCORE = 15;

export const customerLevelSchema = z
  .object({
    id: idSchema,
    name: z.string(),
    /** Order of the levels, lowest first; fixed. */
    rank: z.number().int(),
    /** Lowest RFM score that reaches this level; rises with `rank`. */
    minRfmScore: z.number().int(),
    description: z.string().nullable(),
    updatedAt: isoDateTime,
  })
  .meta({ id: 'CustomerLevel' });
export type CustomerLevel = z.infer<typeof customerLevelSchema>;

export const updateCustomerLevelInput = z.object({
  id: idSchema,
  name: safeString.trim().min(1).max(50).optional(),
  minRfmScore: z.number().int().min(0).max(MAX_RFM_SCORE).optional(),
  description: safeString.trim().max(500).nullable().optional(),
});
export type UpdateCustomerLevelInput = z.infer<typeof updateCustomerLevelInput>;
