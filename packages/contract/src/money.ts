import { z } from 'zod';
import { idSchema, queryNumber } from './common.ts';

/**
 * The largest amount a client may send (a price, a promotion's amount) and the largest total of
 * one order: far below 2^53, so a customer's lifetime spend stays exact for thousands of orders.
 */
export const MONEY_MAX = 1_000_000_000_000;

/** The largest sum the server keeps (a customer's lifetime spend): the largest exact integer. */
export const MONEY_TOTAL_MAX = Number.MAX_SAFE_INTEGER;

/**
 * An amount of money as an integer count of minor units (cents for USD) in the
 * installation's one currency. Capped so sums stay exact in a JavaScript number.
 */
export const moneySchema = z
  .number()
  .int('expected an integer amount in minor units')
  .min(0)
  .max(MONEY_MAX)
  .meta({ example: 1999, description: 'Integer amount in minor units (e.g. cents)' });

/**
 * A sum of amounts the server accumulates (a customer's lifetime spend), or a filter on one: it
 * passes the single-amount cap after enough orders, and is exact up to 2^53 - 1.
 */
export const moneyTotalSchema = z
  .number()
  .int('expected an integer amount in minor units')
  .min(0)
  .max(MONEY_TOTAL_MAX)
  .meta({ example: 125000, description: 'Integer sum in minor units (e.g. cents), up to 2^53 - 1' });

/** The same, read from a query string. */
export const queryMoney = queryNumber().int().min(0).max(MONEY_TOTAL_MAX);

/** What DELETE did: removed the row, or kept it (still referenced) and deactivated it. */
export const deleteResultSchema = z
  .object({ id: idSchema, outcome: z.enum(['DELETED', 'DEACTIVATED']) })
  .meta({ id: 'DeleteResult' });
export type DeleteResult = z.infer<typeof deleteResultSchema>;
