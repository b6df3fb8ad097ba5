import {
  cancelOrderInput,
  createOrderInput,
  idSchema,
  listOrdersInput,
  orderDetailSchema,
  orderPage,
  placedOrderSchema,
  REASON,
} from '@touch-crm/contract';
import { cancelOrder, createOrder, getOrder, listOrders } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const ordersRouter = router({
  create: permissionProcedure('orders:create')
    .meta(
      rest(
        'POST',
        '/orders',
        'orders',
        'Place an order: priced by the server, one promotion redeemed, rewards assigned',
        {
          description:
            "Places an order in one transaction: items priced from the catalogue (inactive or unknown products are a 400 naming the item), at most one promotion redeemed by `customerPromotionId` or `promotionCode` (409 PROMOTION_NOT_ASSIGNED, PROMOTION_ALREADY_REDEEMED or PROMOTION_UNAVAILABLE; two orders racing for one promotion: exactly one wins), a payment recorded when given, the customer's totals updated, and FIRST_PURCHASE / MIN_PURCHASE / REFERRAL promotions assigned (`assignedPromotions`). An unknown customer, or one outside the caller's scope, is a 404. Send an Idempotency-Key to retry safely. Needs `orders:create` (`_own`: own customers).",
          successStatus: 201,
          errors: {
            404: [],
            409: [REASON.PROMOTION_NOT_ASSIGNED, REASON.PROMOTION_ALREADY_REDEEMED, REASON.PROMOTION_UNAVAILABLE],
          },
        },
      ),
    )
    .input(createOrderInput)
    .output(placedOrderSchema)
    .mutation(({ ctx, input }) => createOrder(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('orders:read')
    .meta(
      rest('GET', '/orders', 'orders', "List orders (filters; paginated). Reps see their customers' orders", {
        description:
          'Orders with customer and totals, filtered by customer, status, creation period, minimum total and `updatedAfter`, sorted, with page or cursor pagination. `orders:read_all` sees every order, `orders:read_own` those of own customers.',
      }),
    )
    .input(listOrdersInput)
    .output(orderPage)
    .query(({ ctx, input }) => listOrders(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('orders:read')
    .meta(
      rest('GET', '/orders/{id}', 'orders', 'Get an order with items, transactions and the applied promotion', {
        description:
          "One order with its items, payment and refund transactions and the promotion it applied. Outside the caller's scope it is a 404. Needs `orders:read`.",
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(orderDetailSchema)
    .query(({ ctx, input }) => getOrder(ctx.deps, ctx.caller, input)),

  cancel: permissionProcedure('orders:cancel')
    .meta(
      rest('POST', '/orders/{id}/cancel', 'orders', 'Cancel a PENDING or PAID order', {
        description:
          "Cancels a PENDING or PAID order in one transaction: a redeemed promotion is restored, unused promotions the order earned are revoked, a payment is refunded and the customer's totals are reversed. The order is kept, CANCELLED, with the reason. Cancelling twice is a 409 ORDER_ALREADY_CANCELLED. Needs `orders:cancel` (`_own`: own customers' orders).",
        errors: { 409: [REASON.ORDER_ALREADY_CANCELLED] },
      }),
    )
    .input(cancelOrderInput)
    .output(orderDetailSchema)
    .mutation(({ ctx, input }) => cancelOrder(ctx.deps, ctx.caller, input)),
});
