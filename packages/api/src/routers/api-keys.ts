import {
  apiKeyPage,
  apiKeyWithSecretSchema,
  createApiKeyInput,
  idSchema,
  listApiKeysInput,
  REASON,
  revokeApiKeyOutput,
} from '@touch-crm/contract';
import { createApiKey, listApiKeys, revokeApiKey } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

/** API keys for integrations: own keys with `api_keys:manage_own`, everyone's with `api_keys:manage_all`. */
export const apiKeysRouter = router({
  create: permissionProcedure('api_keys:manage')
    .meta(
      rest('POST', '/api-keys', 'api-keys', 'Create an API key acting for you; the key is in this answer only', {
        description:
          "Creates an API key acting for the caller, for integrations. The key is in this answer only (stored hashed). It holds the named permissions (default: all of the caller's), each of which the caller must hold (403 API_KEY_PERMISSIONS_EXCEED_CREATOR naming them); at every use it gets only those its creator still holds, and nothing once the creator is deactivated. Send it as `Authorization: Bearer tcrm_…` or `X-Api-Key`. Only a password sign-in may create keys (403 API_KEY_NOT_ALLOWED). Needs `api_keys:manage_own`.",
        successStatus: 201,
        errors: { 403: [REASON.API_KEY_NOT_ALLOWED, REASON.API_KEY_PERMISSIONS_EXCEED_CREATOR] },
        secretResponse: true,
      }),
    )
    .input(createApiKeyInput)
    .output(apiKeyWithSecretSchema)
    .mutation(({ ctx, input }) => createApiKey(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('api_keys:manage')
    .meta(
      rest('GET', '/api-keys', 'api-keys', 'List API keys (own, or everyone’s with manage_all); never the keys', {
        description:
          "API keys by prefix, name, permissions, creation, last use (time and IP) and expiry; never the key itself. Own keys with `api_keys:manage_own`, everyone's with `api_keys:manage_all`.",
      }),
    )
    .input(listApiKeysInput)
    .output(apiKeyPage)
    .query(({ ctx, input }) => listApiKeys(ctx.deps, ctx.caller, input)),

  revoke: permissionProcedure('api_keys:manage')
    .meta(
      rest('DELETE', '/api-keys/{id}', 'api-keys', 'Revoke an API key: refused from the next request on', {
        description:
          "Revokes a key: every API process refuses it from the next request on. Own keys with `api_keys:manage_own`, anyone's with `api_keys:manage_all`; a key outside that is a 404. Revocation is audited.",
      }),
    )
    .input(z.object({ id: idSchema }))
    .output(revokeApiKeyOutput)
    .mutation(({ ctx, input }) => revokeApiKey(ctx.deps, ctx.caller, input)),
});
