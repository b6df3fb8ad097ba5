import { appRouter } from './app-router.ts';
import type { Meta } from './trpc.ts';

/** Each procedure's success status for the REST mirror, as its meta declares it (`rest(…, { successStatus })`). */
const SUCCESS_STATUS = new Map(
  Object.entries(appRouter._def.procedures).flatMap(([path, procedure]) => {
    const meta = (procedure as unknown as { _def: { meta?: Meta } })._def.meta;
    return meta?.openapi && meta.successStatus ? [[path, { status: meta.successStatus, openapi: meta.openapi }]] : [];
  }),
);

/** The status a successful REST call of the procedure at `path` answers with. */
export const successStatusOf = (path: string | undefined): number => (path && SUCCESS_STATUS.get(path)?.status) || 200;

type Operation = { responses?: Record<string, unknown> };
type OperationsDocument = { paths?: Record<string, Record<string, Operation>> };

/** The generator always documents success as 200; moves it to the status the procedure answers with (201 …). */
export function documentSuccessStatuses(document: OperationsDocument) {
  for (const { status, openapi } of SUCCESS_STATUS.values()) {
    const operation = document.paths?.[openapi.path]?.[openapi.method.toLowerCase()];
    const ok = operation?.responses?.['200'];
    if (!operation?.responses || !ok) continue;
    const { '200': _, ...rest } = operation.responses;
    operation.responses = { [String(status)]: ok, ...rest };
  }
}
