import {
  createWebhookInput,
  deleteResultSchema,
  idSchema,
  listWebhookDeliveriesInput,
  listWebhooksInput,
  REASON,
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
        {
          description:
            'Subscribes a URL to domain events (types such as `order.placed`, resources such as `customer.*`, or `*`). Deliveries are POSTs signed with HMAC-SHA256 (`Touch-Signature`), retried with exponential backoff for about a day, and a subscription failing for WEBHOOK_DISABLE_AFTER (24 h) is disabled. A URL on a loopback, private or metadata address, or with a user name or password, is a 400 naming `url` (WEBHOOK_ALLOWED_HOSTS lets intranet hosts through). The signing secret is in this answer only. Needs `webhooks:manage` (administrators).',
          successStatus: 201,
          secretResponse: true,
        },
      ),
    )
    .input(createWebhookInput)
    .output(webhookWithSecretSchema)
    .mutation(({ ctx, input }) => createWebhook(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('webhooks:manage')
    .meta(
      rest('GET', '/webhooks', 'webhooks', 'List webhook subscriptions (isActive; paginated); never their secrets', {
        description:
          'Webhook subscriptions, filtered by active flag, paginated; never their secrets. Needs `webhooks:manage`.',
      }),
    )
    .input(listWebhooksInput)
    .output(webhookPage)
    .query(({ ctx, input }) => listWebhooks(ctx.deps, input)),

  get: permissionProcedure('webhooks:manage')
    .meta(
      rest('GET', '/webhooks/{id}', 'webhooks', 'Get a webhook subscription, with why it was disabled if it was', {
        description: 'One subscription, with why and when the server disabled it if it did. Needs `webhooks:manage`.',
      }),
    )
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
        {
          description:
            'Changes the given fields of a subscription; `isActive: true` re-enables one the server disabled. Needs `webhooks:manage`.',
        },
      ),
    )
    .input(updateWebhookInput)
    .output(webhookSchema)
    .mutation(({ ctx, input }) => updateWebhook(ctx.deps, ctx.caller, input)),

  delete: permissionProcedure('webhooks:manage')
    .meta(
      rest('DELETE', '/webhooks/{id}', 'webhooks', 'Delete a subscription and its delivery history', {
        description: 'Deletes a subscription and its delivery history. Needs `webhooks:manage`.',
      }),
    )
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
        {
          description:
            'Replaces the signing secret, effective at once for every delivery including retries; the new secret is in this answer only. Needs `webhooks:manage`.',
          secretResponse: true,
        },
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
        {
          description:
            'Deliveries of a subscription, newest first: event, status, attempts, last response code and duration, next attempt. Filter by status; paginated. Needs `webhooks:manage`.',
        },
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
        {
          description:
            'Sends a finished delivery again with the same event id and a fresh signature (202; follow it in the deliveries). A delivery still pending is a 409 WEBHOOK_DELIVERY_PENDING; an event delivery to an inactive subscription a 409 WEBHOOK_INACTIVE. Needs `webhooks:manage`.',
          successStatus: 202,
          errors: { 409: [REASON.WEBHOOK_DELIVERY_PENDING, REASON.WEBHOOK_INACTIVE] },
        },
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
        {
          description:
            'Queues a signed `ping` event to the subscription, active or not, so an integrator can check their endpoint and signature verification (202; follow it in the deliveries). Needs `webhooks:manage`.',
          successStatus: 202,
        },
      ),
    )
    .input(z.object({ id: idSchema }))
    .output(webhookDeliverySchema)
    .mutation(({ ctx, input }) => pingWebhook(ctx.deps, ctx.caller, input)),
});
