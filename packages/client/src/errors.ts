import { TRPCClientError } from '@trpc/client';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import type { AppRouter } from './app-router.ts';

/** Our error codes: tRPC's names, the same as the REST mirror's `code`. */
export type TouchErrorCode = TRPC_ERROR_CODE_KEY;

/** A failing field of an input that did not validate. */
export interface TouchFieldIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/**
 * The `data` of an error the server answered with, as `formatError` in
 * packages/api/src/errors.ts builds it. Written out here because the router's inferred error
 * shape is tRPC's default one (the formatter's `code` is typed `number`, which tRPC does not
 * take as an error shape), so it would not know `requestId`, `issues` or `details`.
 */
export interface TouchErrorData<C extends TouchErrorCode = TouchErrorCode> {
  code: C;
  httpStatus: number;
  requestId?: string;
  /** The failing fields, when the input did not validate. */
  issues?: TouchFieldIssue[];
  /** Safe extra facts, e.g. what a CONFLICT conflicted with. */
  details?: Record<string, unknown>;
}

/** What a call throws when the server answers with an error. */
export type TouchClientError<C extends TouchErrorCode = TouchErrorCode> = TRPCClientError<AppRouter> & {
  data: TouchErrorData<C>;
};

/**
 * Whether `error` is an error the server answered with, optionally with the given code:
 * `if (isTouchError(err, 'CONFLICT')) err.data.details`. A network failure is a
 * `TRPCClientError` without `data`, so it is never a Touch error.
 */
export function isTouchError<C extends TouchErrorCode = TouchErrorCode>(
  error: unknown,
  code?: C,
): error is TouchClientError<C> {
  if (!(error instanceof TRPCClientError)) return false;
  const data: unknown = error.data;
  if (typeof data !== 'object' || data === null || !('code' in data) || typeof data.code !== 'string') return false;
  return code === undefined || data.code === code;
}
