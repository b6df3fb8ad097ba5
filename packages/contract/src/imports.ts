import { z } from 'zod';
import { idSchema, isoDateTime, queryBoolean, queryNumber, safeString } from './common.ts';

export const importStatuses = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'] as const;
export const importStatusSchema = z.enum(importStatuses);

export const importErrorSchema = z
  .object({
    /** 1-based data row (the header is row 0; blank lines are not rows). */
    rowNumber: z.number().int(),
    /** The column at fault, or null for the row as a whole. */
    field: z.string().nullable(),
    message: z.string(),
  })
  .meta({ id: 'ImportError' });
export type ImportRowError = z.infer<typeof importErrorSchema>;

export const importSchema = z
  .object({
    id: idSchema,
    kind: z.string().meta({ example: 'customers' }),
    status: importStatusSchema,
    /** Validated every row and wrote nothing; created/updated say what a real run would do. */
    dryRun: z.boolean(),
    filename: z.string().nullable(),
    /** Data rows in the file, counted at upload. */
    rowsTotal: z.number().int().nullable(),
    rowsRead: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    /** Rows matching a customer that already had those values. */
    unchanged: z.number().int(),
    failed: z.number().int(),
    /** Why the whole import stopped (status FAILED). */
    error: z.string().nullable(),
    createdBy: z.object({ id: idSchema, username: z.string() }),
    createdAt: isoDateTime,
    startedAt: isoDateTime.nullable(),
    completedAt: isoDateTime.nullable(),
    /** The per-row errors, in row order, one page at a time. */
    errors: z.object({
      items: z.array(importErrorSchema),
      total: z.number().int(),
      page: z.number().int(),
      pageSize: z.number().int(),
    }),
  })
  .meta({ id: 'Import' });
export type Import = z.infer<typeof importSchema>;

export const importAcceptedSchema = importSchema
  .extend({
    /** Each header cell and the field it fills; null for a column that is read but ignored (export-only columns). */
    columns: z.array(z.object({ header: z.string(), field: z.string().nullable() })),
  })
  .meta({ id: 'ImportAccepted' });
export type ImportAccepted = z.infer<typeof importAcceptedSchema>;

export const getImportInput = z.object({
  id: idSchema,
  /** Page of the per-row errors. */
  page: queryNumber().int().min(1).default(1),
  pageSize: queryNumber().int().min(1).max(1000).default(100),
});
export type GetImportInput = z.infer<typeof getImportInput>;

export const importCustomersQuery = z.object({
  /** Validate every row and report, writing no customer. */
  dryRun: queryBoolean.default(false).meta({ description: 'validate every row and write nothing' }),
  /** Shown in the import's status; a multipart upload's own file name is used when not given. */
  filename: safeString.trim().min(1).max(255).optional(),
});
