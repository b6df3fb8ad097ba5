import {
  assignPromotionInput,
  assignPromotionOutput,
  createPromotionInput,
  deleteResultSchema,
  idSchema,
  listPromotionsInput,
  promotionPage,
  promotionSchema,
  REASON,
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
        description:
          'Creates a promotion: a discount with a condition type (MANUAL, FIRST_PURCHASE, MIN_PURCHASE, REFERRAL …) whose own fields are validated (a 400 names each), an optional code (unique, 409 PROMOTION_CODE_TAKEN) and a validity window. Needs `promotions:create`.',
        successStatus: 201,
        errors: { 409: [REASON.PROMOTION_CODE_TAKEN] },
      }),
    )
    .input(createPromotionInput)
    .output(promotionSchema)
    .mutation(({ ctx, input }) => createPromotion(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('promotions:read')
    .meta(
      rest('GET', '/promotions', 'promotions', 'List promotions (active, conditionType; paginated)', {
        description:
          'Promotions, filtered by active flag and condition type, sorted, with page or cursor pagination and `updatedAfter`. Needs `promotions:read`.',
      }),
    )
    .input(listPromotionsInput)
    .output(promotionPage)
    .query(({ ctx, input }) => listPromotions(ctx.deps, input)),

  get: permissionProcedure('promotions:read')
    .meta(
      rest('GET', '/promotions/{id}', 'promotions', 'Get a promotion', {
        description: 'One promotion with its condition, discount and validity. Needs `promotions:read`.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(promotionSchema)
    .query(({ ctx, input }) => getPromotion(ctx.deps, input.id)),

  update: permissionProcedure('promotions:update')
    .meta(
      rest('PUT', '/promotions/{id}', 'promotions', 'Update the given fields; the result is validated as a whole', {
        description:
          'Changes the given fields; the result is validated as a whole against its condition type. A new code must be unique (409 PROMOTION_CODE_TAKEN). Needs `promotions:update`.',
        errors: { 409: [REASON.PROMOTION_CODE_TAKEN] },
      }),
    )
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
        {
          description:
            "Deletes a promotion never assigned, or deactivates one that was, so customers' histories stay whole (the answer says which). Needs `promotions:delete`.",
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deletePromotion(ctx.deps, ctx.caller, input)),

  assign: permissionProcedure('promotions:assign')
    .meta(
      rest('POST', '/promotions/{id}/assign', 'promotions', 'Assign to 1–1000 customers; idempotent', {
        description:
          "Assigns an open promotion to 1–1000 customers in one statement; idempotent. Customers who already hold it, or are unknown, deleted or outside the caller's scope are listed in `skipped` with a reason. MANUAL promotions need `promotions:assign_manual`, every other condition type `promotions:assign_any` (403 PERMISSION_DENIED). An inactive, not yet started or ended promotion is a 409 PROMOTION_UNAVAILABLE. Needs `promotions:assign` (`_own`: own customers).",
        errors: { 409: [REASON.PROMOTION_UNAVAILABLE] },
      }),
    )
    .input(assignPromotionInput)
    .output(assignPromotionOutput)
    .mutation(({ ctx, input }) => assignPromotion(ctx.deps, ctx.caller, input)),
});
