import { getImportInput, importSchema } from '@touch-crm/contract';
import { getImport } from '@touch-crm/services';
import { rest } from '../openapi-meta.ts';
import { authedProcedure, router } from '../trpc.ts';

export const importsRouter = router({
  /** Its creator and administrators; anyone else gets 404. The file itself is uploaded to POST /customers/import. */
  get: authedProcedure
    .meta(
      rest('GET', '/imports/{id}', 'customers', 'Progress of a CSV import and its row errors (paginated)', {
        description:
          'Progress of a CSV import started with `POST /customers/import`: status, counters (rowsRead, created, updated, unchanged, failed) and a page of per-row errors (`page`, `pageSize` up to 1000). Visible to the user who uploaded it and to administrators; anyone else gets 404.',
        access: 'authed',
      }),
    )
    .input(getImportInput)
    .output(importSchema)
    .query(({ ctx, input }) => getImport(ctx.deps, ctx.caller, input)),
});
