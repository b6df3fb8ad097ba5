import { randomUUID } from 'node:crypto';
import { type Message, REASON, type SendMessageInput } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';
import { type Caller, jobCaller } from '../actor.ts';
import type { ServiceDeps } from '../deps.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { scopeWhere } from '../scope.ts';
import { getMessage } from './messages.ts';
import { queueMessages } from './queueing.ts';
import { TEMPLATE_VARIABLES, validateTemplate } from './template-language.ts';

/**
 * A text from a person to one customer (`messages:send_own` for their own customers,
 * `messages:send_all` for anyone's), through the same queue, rules and template variables as
 * every message: marketing is held by quiet hours, transactional goes at once. A customer who
 * withdrew consent gets neither (409 SMS_CONSENT_WITHDRAWN), nor does marketing go to a phone the
 * carrier called undeliverable (409 PHONE_UNDELIVERABLE).
 */
export async function sendMessage(deps: ServiceDeps, { scope }: Caller, input: SendMessageInput): Promise<Message> {
  const type = input.kind === 'marketing' ? 'MANUAL_MARKETING' : 'MANUAL';
  const template = validateTemplate(input.body, TEMPLATE_VARIABLES[type]);
  const now = deps.now();
  const id = await deps.db.transaction(async (tx) => {
    const [customer] = await tx.execute<{ sms_opt_in: boolean; undeliverable: boolean }>(sql`
      select sms_opt_in, phone_undeliverable_at is not null as undeliverable
        from customers
       where id = ${input.customerId} and deleted_at is null
         and ${scopeWhere(scope, 'customers') ?? sql`true`}
       for no key update`);
    if (!customer) throw new NotFoundError('Customer');
    if (!customer.sms_opt_in)
      throw new ConflictError(REASON.SMS_CONSENT_WITHDRAWN, 'The customer has withdrawn consent to SMS');
    if (type === 'MANUAL_MARKETING' && customer.undeliverable)
      throw new ConflictError(REASON.PHONE_UNDELIVERABLE, 'The carrier says this phone cannot receive SMS');
    const queued = await queueMessages(deps, tx, {
      type,
      recipients: sql`
        select c.id as customer_id, c.phone, c.sms_opt_in, c.first_name, c.last_name, l.name as level_name,
               ${`manual:${randomUUID()}`}::text as idempotency_key
          from customers c left join customer_rfm r on r.customer_id = c.id left join customer_levels l on l.id = r.level_id
         where c.id = ${input.customerId}`,
      template,
      now,
    });
    return queued.queuedIds[0] as string;
  });
  return getMessage(deps, jobCaller('sms.send'), { id });
}
