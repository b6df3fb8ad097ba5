import type { MessageType } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';

/**
 * Marketing messages respect the customer's SMS opt-in, the quiet hours and the frequency cap.
 * Transactional ones (WELCOME, MANUAL written by a person for one customer, HELP, the opt-in and
 * opt-out confirmations) are held by none of them, but reach a customer who withdrew consent only
 * when they confirm the withdrawal.
 */
export const MARKETING_TYPES: readonly MessageType[] = [
  'BIRTHDAY',
  'INACTIVITY',
  'CAMPAIGN',
  'PROMOTION',
  'MANUAL_MARKETING',
];
export const isMarketing = (type: MessageType) => MARKETING_TYPES.includes(type);

export const SKIPPED_OPTED_OUT = 'customer opted out of marketing SMS';
/** A transactional message to a customer who withdrew consent: only the opt-out confirmation goes. */
export const SKIPPED_WITHDRAWN = 'customer withdrew consent to SMS';
/** The one message a customer who withdrew consent still gets: the confirmation of it. */
export const sentEvenIfWithdrawn = (type: MessageType) => type === 'OPT_OUT_CONFIRMATION';
export const SKIPPED_CUSTOMER_DELETED = 'customer deleted before delivery';

/** Jobs that deliver messages a person is waiting for (welcome, replies, confirmations) jump ahead of marketing backlogs. */
export const priorityOf = (type: MessageType) => (isMarketing(type) ? 0 : 10);

/** `'{A,B}'::message_type[]` */
export const marketingTypesSql = sql`${`{${MARKETING_TYPES.join(',')}}`}::message_type[]`;
