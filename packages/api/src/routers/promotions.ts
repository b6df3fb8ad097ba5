import {
  assignPromotionInput,
  assignPromotionOutput,
  createPromotionInput,
  deleteResultSchema,
  idSchema,
  listPromotionsInput,
  promotionPage,
  promotionSchema,
  updatePromotionInput,
} from '@touch-crm/contract';
import {
  assignPromotion,
  createPromotion,
  deletePromotion,
  getPromotion,
  listPromotions,
  updatePromotion,
} from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const promotionsRouter = router({
  create: permissionProcedure('promotions:create')
    .meta(
      rest('POST', '/promotions', 'promotions', 'Create a promotion, validated per conditionType', {
        successStatus: 201,
      }),
    )
    .input(createPromotionInput)
    .output(promotionSchema)
    .mutation(({ ctx, input }) => createPromotion(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('promotions:read')
    .meta(rest('GET', '/promotions', 'promotions', 'List promotions (active, conditionType; paginated)'))
    .input(listPromotionsInput)
    .output(promotionPage)
    .query(({ ctx, input }) => listPromotions(ctx.deps, input)),

  get: permissionProcedure('promotions:read')
    .meta(rest('GET', '/promotions/{id}', 'promotions', 'Get a promotion'))
    .input(z.object({ id: idSchema }))
    .output(promotionSchema)
    .query(({ ctx, input }) => getPromotion(ctx.deps, input.id)),

  update: permissionProcedure('promotions:update')
    .meta(rest('PUT', '/promotions/{id}', 'promotions', 'Update the given fields; the result is validated as a whole'))
    .input(updatePromotionInput)
    .output(promotionSchema)
    .mutation(({ ctx, input }) => updatePromotion(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('promotions:delete')
    .meta(
      rest(
        'DELETE',
        '/promotions/{id}',
        'promotions',
        'Delete a promotion, or deactivate it once it was ever assigned',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deletePromotion(ctx.deps, ctx.caller, input)),

  assign: permissionProcedure('promotions:assign')
    .meta(
      rest('POST', '/promotions/{id}/assign', 'promotions', 'Assign to 1–1000 customers; idempotent', {
        description:
          'One statement. Customers who already hold it, or are unknown, deleted or outside your scope are listed ' +
          'in `skipped` with a reason. MANUAL promotions need `promotions:assign_manual`, every other condition ' +
          'type `promotions:assign_any` (403). 409 when the promotion is inactive, not started or ended.',
      }),
    )
    .input(assignPromotionInput)
    .output(assignPromotionOutput)
    .mutation(({ ctx, input }) => assignPromotion(ctx.deps, ctx.caller, input)),
});
