import type { GetImportInput, Import, PermissionKey } from '@touch-crm/contract';
import { type Executor, schema } from '@touch-crm/db';
import { asc, eq, sql } from 'drizzle-orm';
import type { UserCaller } from '../../actor.ts';
import type { ServiceDeps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { pageOf } from '../../lib/page.ts';

const { imports, importErrors, users } = schema;

const importColumns = {
  id: imports.id,
  kind: imports.kind,
  status: imports.status,
  dryRun: imports.dryRun,
  filename: imports.filename,
  rowsTotal: imports.rowsTotal,
  rowsRead: imports.rowsRead,
  created: imports.created,
  updated: imports.updated,
  failed: imports.failed,
  error: imports.error,
  createdById: imports.createdById,
  createdByUsername: users.username,
  createdAt: imports.createdAt,
  startedAt: imports.startedAt,
  completedAt: imports.completedAt,
};

export async function loadImport(
  executor: Executor,
  id: string,
  page: { page: number; pageSize: number },
  visible?: (createdById: string) => boolean,
): Promise<Import> {
  const [row] = await executor
    .select(importColumns)
    .from(imports)
    .innerJoin(users, eq(users.id, imports.createdById))
    .where(eq(imports.id, id));
  if (!row || (visible && !visible(row.createdById))) throw new NotFoundError('Import');
  const errors = await pageOf(
    executor,
    page,
    {
      rows: executor
        .select({ rowNumber: importErrors.rowNumber, field: importErrors.field, message: importErrors.message })
        .from(importErrors)
        .$dynamic(),
      table: importErrors,
      where: eq(importErrors.importId, id),
      order: [asc(importErrors.rowNumber), sql`${importErrors.field} asc nulls first`, asc(importErrors.message)],
    },
    (rows) => rows,
  );
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    dryRun: row.dryRun,
    filename: row.filename,
    rowsTotal: row.rowsTotal,
    rowsRead: row.rowsRead,
    created: row.created,
    updated: row.updated,
    unchanged: Math.max(0, row.rowsRead - row.created - row.updated - row.failed),
    failed: row.failed,
    error: row.error,
    createdBy: { id: row.createdById, username: row.createdByUsername },
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
    errors,
  };
}

/** Administrators (who read the audit trail) see every import; anyone else only their own. */
const SEES_ALL_IMPORTS: PermissionKey = 'audit:read';

/** Progress, counters and a page of the row errors; someone else's import is "not found". */
export const getImport = (deps: ServiceDeps, { user }: UserCaller, input: GetImportInput): Promise<Import> =>
  loadImport(
    deps.db,
    input.id,
    input,
    (createdById) => createdById === user.id || user.permissions.has(SEES_ALL_IMPORTS),
  );

/** An import's status without a visibility check: for operator tools that already hold the database. */
export const getImportStatus = (deps: ServiceDeps, id: string, page = { page: 1, pageSize: 100 }): Promise<Import> =>
  loadImport(deps.db, id, page);
