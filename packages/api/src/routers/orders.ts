import {
  cancelOrderInput,
  createOrderInput,
  idSchema,
  listOrdersInput,
  orderDetailSchema,
  orderPage,
  placedOrderSchema,
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
          successStatus: 201,
          description:
            'One transaction: items priced from the catalogue, at most one promotion redeemed (409 when it is not ' +
            "the customer's, used or expired), a payment recorded when given, the customer's totals updated, and " +
            'FIRST_PURCHASE / MIN_PURCHASE / REFERRAL promotions assigned. `assignedPromotions` lists what this order earned.',
        },
      ),
    )
    .input(createOrderInput)
    .output(placedOrderSchema)
    .mutation(({ ctx, input }) => createOrder(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('orders:read')
    .meta(rest('GET', '/orders', 'orders', "List orders (filters; paginated). Reps see their customers' orders"))
    .input(listOrdersInput)
    .output(orderPage)
    .query(({ ctx, input }) => listOrders(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('orders:read')
    .meta(rest('GET', '/orders/{id}', 'orders', 'Get an order with items, transactions and the applied promotion'))
    .input(z.object({ id: idSchema }))
    .output(orderDetailSchema)
    .query(({ ctx, input }) => getOrder(ctx.deps, ctx.caller, input)),

  cancel: permissionProcedure('orders:cancel')
    .meta(
      rest('POST', '/orders/{id}/cancel', 'orders', 'Cancel a PENDING or PAID order', {
        description:
          'Restores a redeemed promotion, revokes unused promotions the order earned, records a refund for a ' +
          "payment and reverses the customer's totals. The order is kept, CANCELLED. 409 when already cancelled.",
      }),
    )
    .input(cancelOrderInput)
    .output(orderDetailSchema)
    .mutation(({ ctx, input }) => cancelOrder(ctx.deps, ctx.caller, input)),
});
