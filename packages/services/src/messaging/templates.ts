import type {
  MessageTemplate,
  MessageType,
  TemplatedMessageType,
  UpdateMessageTemplateInput,
} from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { eq } from 'drizzle-orm';
import { actorOf, type Caller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { diffFields, recordEvent } from '../events/record.ts';
import { theRow } from '../lib/sql.ts';
import { TEMPLATE_VARIABLES, validateTemplate } from './template-language.ts';

const { messageTemplates } = schema;

/** The template of a message type, as stored (seeded defaults until an admin edits them). */
export async function templateBodyOf(executor: Executor, type: MessageType): Promise<string> {
  const [row] = await executor
    .select({ body: messageTemplates.body })
    .from(messageTemplates)
    .where(eq(messageTemplates.type, type));
  if (!row) throw new NotFoundError('Message template');
  return row.body;
}

function toTemplate(row: typeof messageTemplates.$inferSelect): MessageTemplate {
  return {
    type: row.type as TemplatedMessageType,
    body: row.body,
    variables: [...TEMPLATE_VARIABLES[row.type]],
    updatedById: row.updatedById,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function listMessageTemplates(deps: ServiceDeps): Promise<MessageTemplate[]> {
  const rows = await deps.db.select().from(messageTemplates).orderBy(messageTemplates.type);
  return rows.map(toTemplate);
}

export async function getMessageTemplate(deps: ServiceDeps, type: MessageType): Promise<MessageTemplate> {
  const [row] = await deps.db.select().from(messageTemplates).where(eq(messageTemplates.type, type));
  if (!row) throw new NotFoundError('Message template');
  return toTemplate(row);
}

/** Replaces a type's template; an unknown variable is rejected, naming `body`. */
export async function updateMessageTemplate(
  deps: ServiceDeps,
  caller: Caller,
  input: UpdateMessageTemplateInput,
): Promise<MessageTemplate> {
  const actor = actorOf(caller);
  const body = validateTemplate(input.body, TEMPLATE_VARIABLES[input.type]);
  const now = deps.now();
  return deps.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(messageTemplates)
      .where(eq(messageTemplates.type, input.type))
      .for('update');
    const updatedById = actor.kind === 'user' ? actor.userId : null;
    const after = theRow(
      await tx
        .insert(messageTemplates)
        .values({ type: input.type, body, updatedById, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: messageTemplates.type, set: { body, updatedById, updatedAt: now } })
        .returning(),
    );
    const row = after;
    const changes = diffFields(before ?? {}, row, ['body']);
    if (Object.keys(changes).length > 0)
      await recordEvent(
        { tx, jobs: deps.jobs },
        {
          type: 'message_template.updated',
          entityType: 'message_template',
          // Templates are keyed by type; the audit trail needs a uuid, so it gets a stable one per type.
          entityId: templateEntityId(input.type),
          actor,
          data: { type: row.type, body: row.body },
          changes,
          occurredAt: now,
        },
      );
    return toTemplate(row);
  });
}

const TEMPLATE_IDS: Record<MessageType, string> = {
  WELCOME: '00000000-0000-4000-8000-000000000001',
  BIRTHDAY: '00000000-0000-4000-8000-000000000002',
  INACTIVITY: '00000000-0000-4000-8000-000000000003',
  CAMPAIGN: '00000000-0000-4000-8000-000000000004',
  PROMOTION: '00000000-0000-4000-8000-000000000005',
  MANUAL: '00000000-0000-4000-8000-000000000006',
  OPT_OUT_CONFIRMATION: '00000000-0000-4000-8000-000000000007',
  OPT_IN_CONFIRMATION: '00000000-0000-4000-8000-000000000008',
  HELP: '00000000-0000-4000-8000-000000000009',
  REPLY: '00000000-0000-4000-8000-00000000000a',
  MANUAL_MARKETING: '00000000-0000-4000-8000-00000000000b',
};
export const templateEntityId = (type: MessageType) => TEMPLATE_IDS[type];
