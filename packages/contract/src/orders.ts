import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, safeString, syncPaginated, syncQuery } from './common.ts';
import { moneySchema, queryMoney } from './money.ts';
import { customerPromotionSchema } from './promotions.ts';

export const orderStatuses = ['PENDING', 'PAID', 'CANCELLED'] as const;
export const orderStatusSchema = z.enum(orderStatuses);
export const transactionKinds = ['PAYMENT', 'REFUND'] as const;
export const paymentMethods = ['CASH', 'CARD', 'BANK_TRANSFER', 'OTHER'] as const;
export const paymentMethodSchema = z.enum(paymentMethods);

export const orderItemSchema = z.object({
  id: idSchema,
  productId: idSchema,
  /** SKU, name and price as sold, copied from the product. */
  sku: z.string(),
  productName: z.string(),
  unitPrice: moneySchema,
  quantity: z.number().int(),
  lineTotal: z.number().int(),
});

export const transactionSchema = z.object({
  id: idSchema,
  kind: z.enum(transactionKinds),
  method: paymentMethodSchema,
  amount: z.number().int(),
  currency: z.string(),
  reference: z.string().nullable(),
  createdAt: isoDateTime,
});

export const orderSchema = z
  .object({
    id: idSchema,
    /** Sequential, human-readable. */
    number: z.number().int(),
    customer: z.object({ id: idSchema, firstName: z.string(), lastName: z.string() }),
    status: orderStatusSchema,
    currency: z.string(),
    subtotal: z.number().int(),
    discount: z.number().int(),
    total: z.number().int(),
    appliedPromotion: customerPromotionSchema.nullable(),
    notes: z.string().nullable(),
    createdById: idSchema.nullable(),
    paidAt: isoDateTime.nullable(),
    cancelledAt: isoDateTime.nullable(),
    cancelReason: z.string().nullable(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Order' });
export type Order = z.infer<typeof orderSchema>;

export const orderDetailSchema = orderSchema
  .extend({ items: z.array(orderItemSchema), transactions: z.array(transactionSchema) })
  .meta({ id: 'OrderDetail' });
export type OrderDetail = z.infer<typeof orderDetailSchema>;

export const placedOrderSchema = orderDetailSchema
  .extend({
    /** Promotions this order earned (for this customer or, by referral, their referrer); usable from the next order. */
    assignedPromotions: z.array(customerPromotionSchema),
  })
  .meta({ id: 'PlacedOrder' });
export type PlacedOrder = z.infer<typeof placedOrderSchema>;

export const createOrderInput = z
  .object({
    customerId: idSchema,
    items: z
      .array(z.object({ productId: idSchema, quantity: z.number().int().min(1).max(100_000) }))
      .min(1)
      .max(200),
    /** Redeem the customer's promotion with this code (case-insensitive)… */
    promotionCode: safeString.trim().min(1).max(64).optional(),
    /** …or this assigned promotion; not both. */
    customerPromotionId: idSchema.optional(),
    /** When given, the order is PAID and a payment transaction is recorded; else PENDING. */
    payment: z
      .object({ method: paymentMethodSchema, reference: safeString.trim().min(1).max(200).optional() })
      .optional(),
    notes: safeString.trim().max(2000).optional(),
  })
  .refine((input) => !(input.promotionCode && input.customerPromotionId), {
    path: ['customerPromotionId'],
    message: 'give promotionCode or customerPromotionId, not both',
  });
export type CreateOrderInput = z.infer<typeof createOrderInput>;

export const listOrdersInput = z.object({
  ...pageQuery,
  ...syncQuery,
  customerId: idSchema.optional(),
  status: orderStatusSchema.optional(),
  createdFrom: isoDateTime.optional(),
  createdTo: isoDateTime.optional(),
  minTotal: queryMoney.optional(),
  sort: z.enum(['createdAt', 'total', 'number', '-createdAt', '-total', '-number']).default('-createdAt'),
});
export type ListOrdersInput = z.infer<typeof listOrdersInput>;
export const orderPage = syncPaginated(orderSchema);

export const cancelOrderInput = z.object({
  id: idSchema,
  reason: safeString.trim().min(1).max(500).optional(),
});
export type CancelOrderInput = z.infer<typeof cancelOrderInput>;
