import { customerLevelSchema, updateCustomerLevelInput } from '@touch-crm/contract';
import { listCustomerLevels, updateCustomerLevel } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const customerLevelsRouter = router({
  list: permissionProcedure('customer_levels:read')
    .meta(
      rest('GET', '/customer-levels', 'customers', 'The customer levels with their RFM thresholds, lowest first', {
        description: 'Their ids are what `GET /customers?levelId=` and a manual level (`levelId`) take.',
      }),
    )
    .input(z.void())
    .output(z.array(customerLevelSchema))
    .query(({ ctx }) => listCustomerLevels(ctx.deps)),

  update: permissionProcedure('customer_levels:update')
    .meta(
      rest('PUT', '/customer-levels/{id}', 'customers', 'Rename a level or move its threshold (administrators)', {
        description:
          'Thresholds must rise with rank (a 400 on `minRfmScore` names the allowed range). Customers move at the next RFM run.',
      }),
    )
    .input(updateCustomerLevelInput)
    .output(customerLevelSchema)
    .mutation(({ ctx, input }) => updateCustomerLevel(ctx.deps, ctx.caller, input)),
});
