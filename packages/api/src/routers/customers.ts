import {
  createCustomerInput,
  customerConsentSchema,
  customerDetailSchema,
  customerPage,
  deleteResultSchema,
  idSchema,
  listCustomersInput,
  updateCustomerInput,
} from '@touch-crm/contract';
import {
  createCustomer,
  deleteCustomer,
  getCustomer,
  getCustomerConsent,
  listCustomers,
  updateCustomer,
} from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const customersRouter = router({
  create: permissionProcedure('customers:create')
    .meta(
      rest(
        'POST',
        '/customers',
        'customers',
        'Create a customer (phone normalised to E.164; unique among live customers)',
        {
          successStatus: 201,
        },
      ),
    )
    .input(createCustomerInput)
    .output(customerDetailSchema)
    .mutation(({ ctx, input }) => createCustomer(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('customers:read')
    .meta(
      rest('GET', '/customers', 'customers', 'List customers (filters, search, sort; paginated). Reps see their own'),
    )
    .input(listCustomersInput)
    .output(customerPage)
    .query(({ ctx, input }) => listCustomers(ctx.deps, ctx.caller, input)),

  get: permissionProcedure('customers:read')
    .meta(
      rest(
        'GET',
        '/customers/{id}',
        'customers',
        'Get a customer with level, owner, totals, RFM and active promotions',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(customerDetailSchema)
    .query(({ ctx, input }) => getCustomer(ctx.deps, ctx.caller, input)),

  consent: permissionProcedure('customers:read')
    .meta(
      rest(
        'GET',
        '/customers/{id}/consent',
        'customers',
        'The SMS consent record: every grant and withdrawal with its source, actor, time and evidence',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(customerConsentSchema)
    .query(({ ctx, input }) => getCustomerConsent(ctx.deps, ctx.caller, input)),

  update: permissionProcedure('customers:update')
    .meta(rest('PUT', '/customers/{id}', 'customers', 'Update the given fields; a new level assigns its promotions'))
    .input(updateCustomerInput)
    .output(customerDetailSchema)
    .mutation(({ ctx, input }) => updateCustomer(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('customers:delete')
    .meta(rest('DELETE', '/customers/{id}', 'customers', 'Soft-delete a customer: orders and history are kept'))
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deleteCustomer(ctx.deps, ctx.caller, input)),
});
