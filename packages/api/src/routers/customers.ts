import {
  createCustomerInput,
  customerConsentSchema,
  customerDetailSchema,
  customerPage,
  deleteResultSchema,
  idSchema,
  listCustomersInput,
  REASON,
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
          description:
            'Creates a customer. The phone is normalised to E.164 (DEFAULT_PHONE_REGION for numbers without a country code) and unique among live customers: a 409 PHONE_TAKEN names the existing customer in `details.existingCustomerId` when the caller may read them. The owner defaults to the caller; naming another owner needs `customers:create_all`. Setting `levelId` by hand needs `customers:set_level`. Sales reps hold `customers:create_own`.',
          successStatus: 201,
          errors: { 409: [REASON.PHONE_TAKEN] },
        },
      ),
    )
    .input(createCustomerInput)
    .output(customerDetailSchema)
    .mutation(({ ctx, input }) => createCustomer(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('customers:read')
    .meta(
      rest('GET', '/customers', 'customers', 'List customers (filters, search, sort; paginated). Reps see their own', {
        description:
          "Customers with their level, owner and totals. Filters (status, level, owner, creation and last-order dates, minimum spend, SMS opt-in, `updatedAfter`), `search` (part of the name, phone or email, ignoring case), `sort`, and either `page`/`pageSize` or keyset `cursor`/`limit` (stable under concurrent writes, for incremental sync). `customers:read_all` sees everyone's customers, `customers:read_own` (sales reps) their own.",
      }),
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
        {
          description:
            "One customer with level, owner, totals, RFM scores and the promotions they hold. Outside the caller's scope it is a 404. Needs `customers:read`.",
        },
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
        {
          description:
            "The customer's SMS consent record: the current opt-in and every grant and withdrawal with its source, actor, time and evidence (an inbound STOP reply included). Needs `customers:read` on the customer.",
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(customerConsentSchema)
    .query(({ ctx, input }) => getCustomerConsent(ctx.deps, ctx.caller, input)),

  update: permissionProcedure('customers:update')
    .meta(
      rest('PUT', '/customers/{id}', 'customers', 'Update the given fields; a new level assigns its promotions', {
        description:
          'Changes the given fields; omitted fields keep their value, `null` clears an optional one. A changed phone is normalised and must stay unique (409 PHONE_TAKEN); a changed SMS opt-in is recorded in the consent record; a new level (by hand, with `customers:set_level`) assigns its promotions. Giving the customer to another owner needs `customers:update_all`.',
        errors: { 409: [REASON.PHONE_TAKEN] },
      }),
    )
    .input(updateCustomerInput)
    .output(customerDetailSchema)
    .mutation(({ ctx, input }) => updateCustomer(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('customers:delete')
    .meta(
      rest('DELETE', '/customers/{id}', 'customers', 'Soft-delete a customer: orders and history are kept', {
        description:
          'Soft-deletes a customer: they leave lists, searches and campaign audiences, and their phone is free again, while orders, messages and history are kept. Needs `customers:delete` on the customer.',
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deleteCustomer(ctx.deps, ctx.caller, input)),
});
