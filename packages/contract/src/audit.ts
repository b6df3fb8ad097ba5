import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, paginated, safeString } from './common.ts';

export const auditEntrySchema = z
  .object({
    id: z.number().int(),
    occurredAt: isoDateTime,
    actor: z.object({
      userId: idSchema.nullable(),
      username: z.string().nullable(),
      job: z.string().nullable().meta({ description: 'The background job that made the change, when no user did' }),
    }),
    entityType: z.string().meta({ example: 'customer' }),
    entityId: idSchema,
    action: z.string().meta({ example: 'updated' }),
    changes: z
      .record(z.string(), z.object({ before: z.unknown(), after: z.unknown() }))
      .meta({ example: { phone: { before: '+12025550147', after: '+12025550199' } } }),
    eventId: idSchema.nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const listAuditInput = z
  .object({
    ...pageQuery,
    entityType: safeString.trim().min(1).max(64).optional(),
    entityId: idSchema.optional(),
    userId: idSchema.optional(),
    action: safeString.trim().min(1).max(64).optional(),
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    sort: z.enum(['occurredAt', '-occurredAt']).default('-occurredAt'),
  })
  .refine((input) => !input.from || !input.to || Date.parse(input.from) <= Date.parse(input.to), {
    path: ['to'],
    message: 'must not be before from',
  });
export type ListAuditInput = z.infer<typeof listAuditInput>;
export const auditPage = paginated(auditEntrySchema);
