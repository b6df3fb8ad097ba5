import { z } from 'zod';
import { idSchema, queryNumber } from './common.ts';

/**
 * An amount of money as an integer count of minor units (cents for USD) in the
 * installation's one currency. Capped so sums stay exact in a JavaScript number.
 */
export const moneySchema = z
  .number()
  .int('expected an integer amount in minor units')
  .min(0)
  .max(1_000_000_000_000)
  .meta({ example: 1999, description: 'Integer amount in minor units (e.g. cents)' });

/** The same, read from a query string. */
export const queryMoney = queryNumber().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What DELETE did: removed the row, or kept it (still referenced) and deactivated it. */
export const deleteResultSchema = z
  .object({ id: idSchema, outcome: z.enum(['DELETED', 'DEACTIVATED']) })
  .meta({ id: 'DeleteResult' });
export type DeleteResult = z.infer<typeof deleteResultSchema>;
