import type {
  CreateWebhookInput,
  ListWebhooksInput,
  Page,
  UpdateWebhookInput,
  Webhook,
  WebhookWithSecret,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { desc, eq } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { pageOf } from '../lib/page.ts';
import { theRow } from '../lib/sql.ts';
import { generateWebhookSecret } from './signing.ts';
import { urlPolicyOf, webhookUrlRefusal, withoutCredentials } from './url-safety.ts';

const { webhooks } = schema;
type WebhookRow = typeof webhooks.$inferSelect;

/** The subscription as the API returns it: never its secret, nor credentials in its URL. */
export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: withoutCredentials(row.url),
    events: row.events,
    description: row.description,
    isActive: row.isActive,
    failingSince: row.failingSince?.toISOString() ?? null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    disabledReason: row.disabledReason,
    secretRotatedAt: row.secretRotatedAt?.toISOString() ?? null,
    createdById: row.createdById,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Fields the audit trail records (never the secret). */
const AUDITED = ['url', 'events', 'description', 'isActive'] as const;

/** `"*"`, `["*"]` or a list holding `*`: every event. */
const normaliseEvents = (events: CreateWebhookInput['events']): string[] =>
  events === '*' || events.includes('*') ? ['*'] : [...events];

async function assertUrlAllowed(deps: ServiceDeps, url: string): Promise<void> {
  const refusal = await webhookUrlRefusal(urlPolicyOf(deps.config), url);
  if (refusal) throw ValidationError.field('url', refusal);
}

export async function lockWebhook(tx: Executor, id: string): Promise<WebhookRow> {
  const [row] = await tx.select().from(webhooks).where(eq(webhooks.id, id)).for('update');
  if (!row) throw new NotFoundError('Webhook');
  return row;
}

/** Registers a subscription with a fresh signing secret, shown in this answer only. */
export async function createWebhook(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateWebhookInput,
): Promise<WebhookWithSecret> {
  const actor = actorOf(caller);
  await assertUrlAllowed(deps, input.url);
  const now = deps.now();
  const secret = generateWebhookSecret();
  return deps.db.transaction(async (tx) => {
    const row = theRow(
      await tx
        .insert(webhooks)
        .values({
          url: input.url,
          events: normaliseEvents(input.events),
          description: input.description || null,
          isActive: input.isActive,
          secret,
          createdById: actor.kind === 'user' ? actor.userId : null,
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
    );
    const webhook = toWebhook(row);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'webhook.created',
        entityType: 'webhook',
        entityId: webhook.id,
        actor,
        data: webhook,
        changes: diffFields({}, webhook, AUDITED),
        occurredAt: now,
      },
    );
    return { ...webhook, secret };
  });
}

export async function listWebhooks(deps: ServiceDeps, input: ListWebhooksInput): Promise<Page<Webhook>> {
  const where = input.isActive === undefined ? undefined : eq(webhooks.isActive, input.isActive);
  return pageOf(
    deps.db,
    input,
    {
      rows: deps.db.select().from(webhooks).$dynamic(),
      table: webhooks,
      where,
      order: [desc(webhooks.createdAt), desc(webhooks.id)],
    },
    (rows) => rows.map(toWebhook),
  );
}

export async function getWebhook(deps: ServiceDeps, id: string): Promise<Webhook> {
  const [row] = await deps.db.select().from(webhooks).where(eq(webhooks.id, id));
  if (!row) throw new NotFoundError('Webhook');
  return toWebhook(row);
}

/**
 * Replaces the given fields. Activating a subscription the server disabled clears why (and its
 * failure streak); a changed URL is checked like a new one.
 */
export async function updateWebhook(deps: ServiceDeps, caller: Caller, input: UpdateWebhookInput): Promise<Webhook> {
  const actor = actorOf(caller);
  const current = await getWebhook(deps, input.id);
  if (input.url !== undefined && input.url !== current.url) await assertUrlAllowed(deps, input.url);
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const before = toWebhook(await lockWebhook(tx, input.id));
    const set: Partial<WebhookRow> = {};
    if (input.url !== undefined) set.url = input.url;
    if (input.events !== undefined) set.events = normaliseEvents(input.events);
    if (input.description !== undefined) set.description = input.description || null;
    if (input.isActive !== undefined) set.isActive = input.isActive;
    if (input.isActive === true && !before.isActive)
      Object.assign(set, { disabledAt: null, disabledReason: null, failingSince: null });
    const changes = diffFields(before, { ...before, ...set }, AUDITED);
    if (Object.keys(changes).length === 0) return before;
    const row = theRow(
      await tx
        .update(webhooks)
        .set({ ...set, updatedAt: now })
        .where(eq(webhooks.id, input.id))
        .returning(),
    );
    const webhook = toWebhook(row);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'webhook.updated',
        entityType: 'webhook',
        entityId: webhook.id,
        actor,
        data: webhook,
        changes,
        occurredAt: now,
      },
    );
    return webhook;
  });
}

/** Removes a subscription and its delivery history; nothing more is sent to it. */
export async function deleteWebhook(
  deps: ServiceDeps,
  caller: Caller,
  { id }: { id: string },
): Promise<{ id: string; outcome: 'DELETED' }> {
  const actor = actorOf(caller);
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const webhook = toWebhook(await lockWebhook(tx, id));
    await tx.delete(webhooks).where(eq(webhooks.id, id));
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'webhook.deleted',
        entityType: 'webhook',
        entityId: id,
        actor,
        data: webhook,
        changes: diffFields(webhook, {}, AUDITED),
        occurredAt: now,
      },
    );
    return { id, outcome: 'DELETED' as const };
  });
}

/** A new signing secret, effective for every request from now on (retries included); shown once. */
export async function rotateWebhookSecret(
  deps: ServiceDeps,
  caller: Caller,
  { id }: { id: string },
): Promise<WebhookWithSecret> {
  const actor = actorOf(caller);
  const now = deps.now();
  const secret = generateWebhookSecret();
  return deps.db.transaction(async (tx) => {
    await lockWebhook(tx, id);
    const row = theRow(
      await tx
        .update(webhooks)
        .set({ secret, secretRotatedAt: now, updatedAt: now })
        .where(eq(webhooks.id, id))
        .returning(),
    );
    const webhook = toWebhook(row);
    await recordEvent(
      { tx, jobs: deps.jobs },
      {
        type: 'webhook.secret_rotated',
        entityType: 'webhook',
        entityId: id,
        actor,
        data: webhook,
        // The secret itself is never recorded.
        changes: { secretRotatedAt: { before: null, after: webhook.secretRotatedAt } },
        occurredAt: now,
      },
    );
    return { ...webhook, secret };
  });
}
