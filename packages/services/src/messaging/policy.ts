import type { MessageType } from '@touch-crm/contract';
import { sql } from 'drizzle-orm';

/**
 * Marketing messages respect the customer's SMS opt-in and the quiet hours. WELCOME (a
 * confirmation of becoming a customer) and MANUAL (written by a person for one customer) do not.
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
export const SKIPPED_CUSTOMER_DELETED = 'customer deleted before delivery';

/** Jobs that deliver messages a person is waiting for (welcome, replies, confirmations) jump ahead of marketing backlogs. */
export const priorityOf = (type: MessageType) => (isMarketing(type) ? 0 : 10);

/** `'{A,B}'::message_type[]` */
export const marketingTypesSql = sql`${`{${MARKETING_TYPES.join(',')}}`}::message_type[]`;
