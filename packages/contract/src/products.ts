import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, queryBoolean, safeString, syncPaginated, syncQuery } from './common.ts';
import { moneySchema } from './money.ts';

export const productSchema = z
  .object({
    id: idSchema,
    sku: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    unitPrice: moneySchema,
    isActive: z.boolean(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Product' });
export type Product = z.infer<typeof productSchema>;

const sku = safeString
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w.-]+$/, 'letters, digits, dot, underscore and dash only')
  .meta({ example: 'COFFEE-250G' });
const name = safeString.trim().min(1).max(200);
const description = safeString.trim().max(2000);

export const createProductInput = z.object({
  sku,
  name,
  description: description.optional(),
  unitPrice: moneySchema,
  isActive: z.boolean().default(true),
});
export type CreateProductInput = z.infer<typeof createProductInput>;

export const updateProductInput = z.object({
  id: idSchema,
  sku: sku.optional(),
  name: name.optional(),
  description: description.nullable().optional(),
  unitPrice: moneySchema.optional(),
  isActive: z.boolean().optional(),
});
export type UpdateProductInput = z.infer<typeof updateProductInput>;

export const listProductsInput = z.object({
  ...pageQuery,
  ...syncQuery,
  /** Matches SKU or name, case-insensitively. */
  search: safeString.trim().min(1).max(200).optional(),
  isActive: queryBoolean.optional(),
  sort: z.enum(['name', 'sku', 'unitPrice', 'createdAt', '-name', '-sku', '-unitPrice', '-createdAt']).default('name'),
});
export type ListProductsInput = z.infer<typeof listProductsInput>;
export const productPage = syncPaginated(productSchema);
