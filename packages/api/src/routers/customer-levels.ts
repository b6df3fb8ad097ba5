import { customerLevelSchema, REASON, updateCustomerLevelInput } from '@touch-crm/contract';
import { listCustomerLevels, updateCustomerLevel } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const customerLevelsRouter = router({
  list: permissionProcedure('customer_levels:read')
    .meta(
      rest('GET', '/customer-levels', 'customers', 'The customer levels with their RFM thresholds, lowest first', {
        description:
          'The loyalty levels with their minimum RFM score, lowest first. Their ids are what `GET /customers?levelId=` and a manual level (`levelId` on a customer) take. Needs `customer_levels:read`.',
      }),
    )
    .input(z.void())
    .output(z.array(customerLevelSchema))
    .query(({ ctx }) => listCustomerLevels(ctx.deps)),

  update: permissionProcedure('customer_levels:update')
    .meta(
      rest('PUT', '/customer-levels/{id}', 'customers', 'Rename a level or move its threshold (administrators)', {
        description:
          'Renames a level or moves its threshold. Thresholds must rise with rank (a 400 on `minRfmScore` names the allowed range); names are unique (409 LEVEL_NAME_TAKEN). Customers move to their new level at the next RFM run. Needs `customer_levels:update` (administrators).',
        errors: { 409: [REASON.LEVEL_NAME_TAKEN] },
      }),
    )
    .input(updateCustomerLevelInput)
    .output(customerLevelSchema)
    .mutation(({ ctx, input }) => updateCustomerLevel(ctx.deps, ctx.caller, input)),
});
