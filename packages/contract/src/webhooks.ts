import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, paginated, queryBoolean, safeString } from './common.ts';

/**
 * Every domain event type a subscription may name (`*` means all of them). Each is recorded
 * once, in the transaction of the change it describes; its `data` is what the service recorded
 * about the resource. Changes to subscriptions (`webhook.*`) are audited, never delivered.
 */
export const WEBHOOK_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.status_changed',
  'customer.level_changed',
  'customer.levels_assigned',
  'customer_level.updated',
  'order.placed',
  'order.cancelled',
  'promotion.created',
  'promotion.updated',
  'promotion.deleted',
  'promotion.deactivated',
  'promotion.assigned',
  'promotion.redeemed',
  'promotion.revoked',
  'promotion.restored',
  'product.created',
  'product.updated',
  'product.deleted',
  'product.deactivated',
  'project.created',
  'project.updated',
  'project.status_changed',
  'task.created',
  'task.updated',
  'task.assigned',
  'task.status_changed',
  'task.completed',
  'task.reopened',
  'task.cancelled',
  'worklog.created',
  'message.sent',
  'message.failed',
  'message.received',
  'message.delivered',
  'message.undelivered',
  'message_template.updated',
  'campaign.created',
  'campaign.updated',
  'campaign.cancelled',
  'campaign.executed',
  'campaign.completed',
  'user.created',
  'user.updated',
  'user.deactivated',
  'user.role_changed',
  'user.password_changed',
  'role.permissions_changed',
  'api_key.created',
  'api_key.revoked',
  'job.run_requested',
] as const;

const knownEventTypes: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

export const webhookEventName = safeString
  .trim()
  .refine((value) => value === '*' || knownEventTypes.has(value), {
    message: 'unknown event type (see the list of webhook events in docs/webhooks.md), or * for all',
  })
  .meta({ example: 'order.placed' });

/** Event types, or `*` (alone, or as the only item) for every event. */
export const webhookEventsInput = z
  .union([
    z.literal('*'),
    z
      .array(webhookEventName)
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length + 1)
      .refine((items) => new Set(items).size === items.length, { message: 'lists an event type twice' }),
  ])
  .meta({ example: ['order.placed', 'customer.created'] });

/** http(s) only; whether its host may be called is checked by the server (private addresses are refused). */
export const webhookUrl = z
  .url({ protocol: /^https?$/, message: 'expected an http or https URL' })
  .max(2000)
  .refine((value) => safeString.safeParse(value).success, {
    message: 'must not contain NUL characters or unpaired surrogates',
  })
  .meta({ example: 'https://hooks.example.com/touch-crm' });

export const webhookSchema = z
  .object({
    id: idSchema,
    url: z.string(),
    /** Event types delivered, or `["*"]` for all. */
    events: z.array(z.string()),
    description: z.string().nullable(),
    /** False when switched off by an administrator or disabled after failing for a day (see disabledReason). */
    isActive: z.boolean(),
    /** Since when deliveries have been failing without a success; null while healthy. */
    failingSince: isoDateTime.nullable(),
    disabledAt: isoDateTime.nullable(),
    /** Why the server disabled the subscription. */
    disabledReason: z.string().nullable(),
    secretRotatedAt: isoDateTime.nullable(),
    createdById: idSchema.nullable(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof webhookSchema>;

/** The subscription with its signing secret: only in the answers to create and rotate-secret. */
export const webhookWithSecretSchema = webhookSchema
  .extend({
    /** HMAC-SHA256 key of `Touch-Signature`. Shown this once: store it now. */
    secret: z.string().meta({ example: 'whsec_3q2+7w9x…' }),
  })
  .meta({ id: 'WebhookWithSecret' });
export type WebhookWithSecret = z.infer<typeof webhookWithSecretSchema>;

export const createWebhookInput = z.object({
  url: webhookUrl,
  events: webhookEventsInput,
  description: safeString.trim().max(500).nullish(),
  isActive: z.boolean().default(true),
});
export type CreateWebhookInput = z.infer<typeof createWebhookInput>;

/** The given fields replace the stored ones; activating clears a disabled subscription's reason. */
export const updateWebhookInput = z.object({
  id: idSchema,
  url: webhookUrl.optional(),
  events: webhookEventsInput.optional(),
  description: safeString.trim().max(500).nullish(),
  isActive: z.boolean().optional(),
});
export type UpdateWebhookInput = z.infer<typeof updateWebhookInput>;

export const listWebhooksInput = z.object({
  ...pageQuery,
  isActive: queryBoolean.optional(),
});
export type ListWebhooksInput = z.infer<typeof listWebhooksInput>;
export const webhookPage = paginated(webhookSchema);

/** PENDING (waiting for its first or next attempt) → SUCCEEDED | FAILED (gave up, or refused for good). */
export const webhookDeliveryStatuses = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export const webhookDeliveryStatusSchema = z.enum(webhookDeliveryStatuses);

export const webhookDeliverySchema = z
  .object({
    id: idSchema,
    webhookId: idSchema,
    /** The domain event delivered (the receiver's idempotency key); null for pings. */
    eventId: idSchema.nullable(),
    eventType: z.string(),
    status: webhookDeliveryStatusSchema,
    /** Requests made so far. */
    attempts: z.number().int(),
    /** HTTP status of the last answer; null when none came (timeout, connection error, refused address). */
    responseStatus: z.number().int().nullable(),
    /** The start of the last answer's body (at most 4 KiB). */
    responseBody: z.string().nullable(),
    /** How long the last attempt took. */
    durationMs: z.number().int().nullable(),
    /** Why the last attempt failed. */
    lastError: z.string().nullable(),
    /** When the next attempt is due, while PENDING. */
    nextAttemptAt: isoDateTime.nullable(),
    deliveredAt: isoDateTime.nullable(),
    /** The exact JSON body sent: `{ id, type, occurredAt, data }`. */
    payload: z.record(z.string(), z.unknown()),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const listWebhookDeliveriesInput = z.object({
  id: idSchema,
  ...pageQuery,
  status: webhookDeliveryStatusSchema.optional(),
  eventType: safeString.trim().min(1).max(100).optional(),
});
export type ListWebhookDeliveriesInput = z.infer<typeof listWebhookDeliveriesInput>;
export const webhookDeliveryPage = paginated(webhookDeliverySchema);

export const redeliverWebhookInput = z.object({ id: idSchema, deliveryId: idSchema });
export type RedeliverWebhookInput = z.infer<typeof redeliverWebhookInput>;
