import { z } from 'zod';
import { idSchema } from './common.ts';
import { templateBody } from './messages.ts';

export const sendMessageInput = z.object({
  customerId: idSchema,
  /** The text, with the same {{variables}} as the MANUAL template (firstName, lastName, fullName, level). */
  body: templateBody,
  /** Marketing texts keep the marketing rules (consent, quiet hours); transactional ones go at once. */
  kind: z.enum(['marketing', 'transactional']),
});
export type SendMessageInput = z.infer<typeof sendMessageInput>;
