import { z } from 'zod';
import { idSchema, isoDateTime } from './common.ts';

export const jobStateSchema = z.enum(['created', 'retry', 'active', 'completed', 'cancelled', 'failed']);

export const jobRunSchema = z.object({
  id: idSchema,
  state: jobStateSchema,
  createdAt: isoDateTime,
  startedAt: isoDateTime.nullable(),
  completedAt: isoDateTime.nullable(),
  /** Retries so far (pg-boss's retry count). */
  retryCount: z.number().int(),
  /** What the job returned, or its error message when it failed. */
  output: z.unknown().nullable(),
});
export type JobRun = z.infer<typeof jobRunSchema>;

export const jobInfoSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    /** Cron (5 fields) and time zone of its schedule; null when it runs only on demand or when messages are queued. */
    schedule: z.object({ cron: z.string(), timezone: z.string() }).nullable(),
    /** The environment variable that overrides the schedule. */
    scheduleSetting: z.string().nullable(),
    /** The most recent run that started, with its outcome. */
    lastRun: jobRunSchema.nullable(),
    /** Jobs waiting (created or retry) and running now. */
    waiting: z.number().int(),
    active: z.number().int(),
  })
  .meta({ id: 'JobInfo' });
export type JobInfo = z.infer<typeof jobInfoSchema>;

export const runJobInput = z.object({
  name: z.string().min(1).max(100),
  /** Payload for the job; most jobs take none. */
  data: z.record(z.string(), z.unknown()).optional(),
});
export type RunJobInput = z.infer<typeof runJobInput>;

export const runJobResultSchema = z.object({ name: z.string(), jobId: idSchema }).meta({ id: 'JobRunRequested' });
export type RunJobResult = z.infer<typeof runJobResultSchema>;
