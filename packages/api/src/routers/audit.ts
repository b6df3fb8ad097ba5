import { auditPage, listAuditInput } from '@touch-crm/contract';
import { listAudit } from '@touch-crm/services';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const auditRouter = router({
  list: permissionProcedure('audit:read')
    .meta(
      rest('GET', '/audit', 'audit', 'Who changed what, from what to what (administrators; paginated)', {
        description:
          'The audit trail: who changed which record, when, and each changed field from what to what (API key creation and revocation included). Filtered by entity, actor, action and period; newest first, paginated. Needs `audit:read` (administrators).',
      }),
    )
    .input(listAuditInput)
    .output(auditPage)
    .query(({ ctx, input }) => listAudit(ctx.deps, input)),
});
