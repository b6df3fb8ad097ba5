import {
  changePasswordInput,
  currentUserSchema,
  loginInput,
  loginOutput,
  okSchema,
  REASON,
  registerInput,
  userSchema,
} from '@touch-crm/contract';
import { changePassword, login, registerUser, toCurrentUser } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, publicProcedure, router, signedInProcedure } from '../trpc.ts';

export const authRouter = router({
  login: publicProcedure
    .meta(
      rest('POST', '/auth/login', 'auth', 'Sign in with username and password', {
        description:
          'Exchanges a username and password for a JWT (valid JWT_TTL, 12 h by default) and the user with their role and permissions. Anyone may call it. Failed attempts are counted per username and per client IP, in the database: past the limit the answer is 429 LOGIN_THROTTLED with Retry-After, whatever the password. `mustChangePassword: true` means the default password is still in use.',
        access: 'public',
        errors: { 401: [], 429: [REASON.LOGIN_THROTTLED] },
        secretResponse: true,
      }),
    )
    .input(loginInput)
    .output(loginOutput)
    .mutation(async ({ ctx, input }) => {
      const result = await login(ctx.deps, { ...input, ip: ctx.ip });
      if (result.user.mustChangePassword)
        ctx.log.warn({ userId: result.user.id }, 'signed in with the default password; change it');
      return result;
    }),

  register: permissionProcedure('users:create')
    .meta(
      rest('POST', '/auth/register', 'auth', 'Create a user with a role (administrators)', {
        description:
          'Creates a staff account with a role and an initial password (administrators: `users:create`). Usernames and emails are unique, ignoring case (409 USERNAME_TAKEN, EMAIL_TAKEN); an unknown `roleId` is a 400 naming it.',
        successStatus: 201,
        errors: { 409: [REASON.USERNAME_TAKEN, REASON.EMAIL_TAKEN] },
      }),
    )
    .input(registerInput)
    .output(userSchema)
    .mutation(({ ctx, input }) => registerUser(ctx.deps, ctx.caller, input)),

  me: signedInProcedure
    .meta(
      rest('GET', '/auth/me', 'auth', 'The signed-in user with role and permissions', {
        description:
          "The caller as the server sees them: profile, role, permissions (with an API key: the key's, narrowed to what its creator still holds) and `mustChangePassword`. Any signed-in user, even one who must still change the default password.",
        access: 'signed-in',
      }),
    )
    .input(z.void())
    .output(currentUserSchema)
    .query(({ ctx }) => toCurrentUser(ctx.caller.user)),

  changePassword: signedInProcedure
    .meta(
      rest('POST', '/auth/change-password', 'auth', 'Change own password; older tokens stop working', {
        description:
          "Replaces the caller's password after checking the current one (401 when it is wrong). Every token issued before stops working, so other sessions sign in again. Wrong current passwords are throttled like failed sign-ins (429 LOGIN_THROTTLED). Allowed before the default password is changed; refused to an API key (403 API_KEY_NOT_ALLOWED).",
        access: 'signed-in',
        errors: { 403: [REASON.API_KEY_NOT_ALLOWED], 429: [REASON.LOGIN_THROTTLED] },
      }),
    )
    .input(changePasswordInput)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await changePassword(ctx.deps, ctx.caller, { ...input, ip: ctx.ip });
      return { ok: true as const };
    }),
});
