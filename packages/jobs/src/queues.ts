import { z } from 'zod';

/**
 * Every queue the API and the worker share: its name, its payload schema and its
 * retry policy. Nothing sends to or works on a queue that is not listed here.
 */
export const QUEUES = {
  'rfm.score': {
    payload: z.object({}).loose(),
    options: { retryLimit: 2, retryDelay: 60, retryBackoff: true },
    description: 'Recency, frequency and monetary scores and levels for every customer',
  },
  'messages.birthday': {
    payload: z.object({}).loose(),
    options: { retryLimit: 2, retryDelay: 60, retryBackoff: true },
    description: 'Queue birthday messages for customers whose birthday is today',
  },
  'messages.inactivity': {
    payload: z.object({}).loose(),
    options: { retryLimit: 2, retryDelay: 60, retryBackoff: true },
    description: 'Queue re-engagement messages for inactive customers',
  },
  'tasks.recurring': {
    payload: z.object({}).loose(),
    options: { retryLimit: 2, retryDelay: 60, retryBackoff: true },
    description: 'Create the next occurrence of recurring tasks',
  },
  'sms.send': {
    payload: z.object({ messageId: z.uuid() }),
    options: { retryLimit: 8, retryDelay: 5, retryBackoff: true, retryDelayMax: 3600 },
    description: 'Deliver one queued SMS through the configured provider',
  },
} as const;

export type QueueName = keyof typeof QUEUES;
export type QueuePayload<N extends QueueName> = z.infer<(typeof QUEUES)[N]['payload']>;
export const QUEUE_NAMES = Object.keys(QUEUES) as QueueName[];

export const isQueueName = (value: string): value is QueueName => Object.hasOwn(QUEUES, value);
