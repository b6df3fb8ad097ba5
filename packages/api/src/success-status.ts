import { procedureMetas } from './app-router.ts';

/** Each procedure's success status for the REST mirror, as its meta declares it (`rest(…, { successStatus })`). */
const SUCCESS_STATUS = new Map(
  procedureMetas().flatMap(([path, meta]) =>
    meta?.openapi && meta.successStatus ? [[path, { status: meta.successStatus, openapi: meta.openapi }]] : [],
  ),
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
