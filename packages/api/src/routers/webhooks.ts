import {
  createWebhookInput,
  deleteResultSchema,
  idSchema,
  listWebhookDeliveriesInput,
  listWebhooksInput,
  redeliverWebhookInput,
  updateWebhookInput,
  webhookDeliveryPage,
  webhookDeliverySchema,
  webhookPage,
  webhookSchema,
  webhookWithSecretSchema,
} from '@touch-crm/contract';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  pingWebhook,
  redeliverWebhookDelivery,
  rotateWebhookSecret,
  updateWebhook,
} from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

/** Outbound webhook subscriptions and their deliveries: administrators only (`webhooks:manage`). */
export const webhooksRouter = router({
  create: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'POST',
        '/webhooks',
        'webhooks',
        'Subscribe a URL to domain events (`*` for all); the answer carries the signing secret, shown this once',
        { successStatus: 201 },
      ),
    )
    .input(createWebhookInput)
    .output(webhookWithSecretSchema)
    .mutation(({ ctx, input }) => createWebhook(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('webhooks:manage')
    .meta(rest('GET', '/webhooks', 'webhooks', 'List webhook subscriptions (isActive; paginated); never their secrets'))
    .input(listWebhooksInput)
    .output(webhookPage)
    .query(({ ctx, input }) => listWebhooks(ctx.deps, input)),

  get: permissionProcedure('webhooks:manage')
    .meta(rest('GET', '/webhooks/{id}', 'webhooks', 'Get a webhook subscription, with why it was disabled if it was'))
    .input(z.object({ id: idSchema }))
    .output(webhookSchema)
    .query(({ ctx, input }) => getWebhook(ctx.deps, input.id)),

  update: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'PUT',
        '/webhooks/{id}',
        'webhooks',
        'Change the given fields; isActive: true re-enables a subscription the server disabled',
      ),
    )
    .input(updateWebhookInput)
    .output(webhookSchema)
    .mutation(({ ctx, input }) => updateWebhook(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('webhooks:manage')
    .meta(rest('DELETE', '/webhooks/{id}', 'webhooks', 'Delete a subscription and its delivery history'))
    .input(z.object({ id: idSchema }))
    .output(deleteResultSchema)
    .mutation(({ ctx, input }) => deleteWebhook(ctx.deps, ctx.caller, input)),

  rotateSecret: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'POST',
        '/webhooks/{id}/rotate-secret',
        'webhooks',
        'Replace the signing secret (effective at once, retries included); the new one is shown this once',
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(webhookWithSecretSchema)
    .mutation(({ ctx, input }) => rotateWebhookSecret(ctx.deps, ctx.caller, input)),

  deliveries: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'GET',
        '/webhooks/{id}/deliveries',
        'webhooks',
        'Deliveries of a subscription, newest first: status, attempts, response code, duration, next attempt',
      ),
    )
    .input(listWebhookDeliveriesInput)
    .output(webhookDeliveryPage)
    .query(({ ctx, input }) => listWebhookDeliveries(ctx.deps, input)),

  redeliver: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'POST',
        '/webhooks/{id}/deliveries/{deliveryId}/redeliver',
        'webhooks',
        'Send a finished delivery again (same event id, fresh signature); 409 while pending or when inactive',
        { successStatus: 202 },
      ),
    )
    .input(redeliverWebhookInput)
    .output(webhookDeliverySchema)
    .mutation(({ ctx, input }) => redeliverWebhookDelivery(ctx.deps, ctx.caller, input)),

  ping: permissionProcedure('webhooks:manage')
    .meta(
      rest(
        'POST',
        '/webhooks/{id}/ping',
        'webhooks',
        'Queue a signed `ping` event to the subscription; follow it in its deliveries',
        { successStatus: 202 },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(webhookDeliverySchema)
    .mutation(({ ctx, input }) => pingWebhook(ctx.deps, ctx.caller, input)),
});
