import type { ErrorReason, RequiredPermission } from '@touch-crm/contract';
import type { UserCaller } from '@touch-crm/services';
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { type Access, authorize } from './authorize.ts';
import type { Context } from './context.ts';
import { toTRPCError } from './errors.ts';
import { toHttpError, trpcErrorShape } from './http-error.ts';

export type Meta = OpenApiMeta & {
  /** HTTP status of a successful REST call, when not 200: the REST mirror and the document read it. */
  successStatus?: number;
  /** The error statuses the REST operation documents, each with the `reason`s it may carry (`rest()` sets them). */
  errorReasons?: Partial<Record<number, readonly ErrorReason[]>>;
  /**
   * The answer carries a one-time secret or a credential (a new API key, a webhook's signing
   * secret, a sign-in token): it is never stored, so `Idempotency-Key` is ignored (edge/secret-responses.ts).
   */
  secretResponse?: true;
};

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    isDev: false,
    // The problem's code, request id, failing fields and details, inside tRPC's envelope (whose `code` is the JSON-RPC number).
    // Errors met before the context exists (the request's own shape) are formatted again with the
    // request id by the handler (trpc-handler.ts).
    errorFormatter: ({ error, ctx }) => trpcErrorShape(toHttpError(error, ctx?.requestId)),
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** A failed result of the procedure (or of authorizing) as the tRPC error of its domain error's kind. */
const asTRPCError = (error: unknown) =>
  toTRPCError(error instanceof TRPCError ? error : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error }));

const base = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw asTRPCError(result.error);
  return result;
});

/**
 * The caller authorized with `access`, then the procedure, in one middleware rather than on top of
 * `base`: each level of tRPC's middleware chain copies its options and context (a tenth of the
 * CPU of a customer read, 2026-12-03).
 */
const authorizedProcedure = (access: Access) =>
  t.procedure.use(async ({ ctx, next }) => {
    let caller: UserCaller;
    try {
      caller = await authorize(ctx.deps, ctx.credentials, access);
    } catch (error) {
      throw asTRPCError(error);
    }
    const result = await next({ ctx: { caller } });
    if (!result.ok) throw asTRPCError(result.error);
    return result;
  });

/** Anyone, signed in or not (login). */
export const publicProcedure = base;

/**
 * Any signed-in, active user, including one who must still change the default password:
 * only `auth.me` and `auth.changePassword`. The context's caller is the user, with fresh permissions.
 */
export const signedInProcedure = authorizedProcedure({ beforePasswordChange: true });

/** Any signed-in, active user; in production not one who must change the password first. */
export const authedProcedure = authorizedProcedure({});

/**
 * Users holding `permission`. For an owned resource action (`customers:read`) the
 * `_all` or `_own` variant grants it and the context's caller carries the resulting scope;
 * for a plain permission the scope is `all`.
 */
export const permissionProcedure = (permission: RequiredPermission) =>
  authorizedProcedure({ permissions: [permission] });
