import { z } from 'zod';
import { idSchema, isoDateTime, safeString } from './common.ts';

export const jobStateSchema = z.enum(['created', 'retry', 'active', 'completed', 'cancelled', 'failed']);

export const jobRunSchema = z.object({
  id: idSchema,
  state: jobStateSchema,
  createdAt: isoDateTime,
  startedAt: isoDateTime.nullable(),
  completedAt: isoDateTime.nullable(),
  /** Retries so far (pg-boss's retry count). */
  retryCount: z.number().int(),
  /** What the job returned, or its error message when it failed; null when neither (unknown takes null already). */
  output: z.unknown(),
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

const MAX_PAYLOAD_DEPTH = 16;

/** Whether every key and string in `value` is storable text and it nests at most `depth` levels. */
function storableJson(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return safeString.safeParse(value).success;
  if (value === null || typeof value !== 'object') return true;
  if (depth === 0) return false;
  return Object.entries(value).every(
    ([key, item]) => safeString.safeParse(key).success && storableJson(item, depth - 1),
  );
}

export const runJobInput = z.object({
  name: safeString.min(1).max(100),
  /** Payload for the job; most jobs take none. */
  data: z
    .record(z.string(), z.unknown())
    .refine((data) => storableJson(data, MAX_PAYLOAD_DEPTH), {
      message: `must nest at most ${MAX_PAYLOAD_DEPTH} levels, without NUL characters or unpaired surrogates`,
    })
    .optional(),
});
export type RunJobInput = z.infer<typeof runJobInput>;

export const runJobResultSchema = z.object({ name: z.string(), jobId: idSchema }).meta({ id: 'JobRunRequested' });
export type RunJobResult = z.infer<typeof runJobResultSchema>;
