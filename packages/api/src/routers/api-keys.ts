import {
  apiKeyPage,
  apiKeyWithSecretSchema,
  createApiKeyInput,
  idSchema,
  listApiKeysInput,
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
        successStatus: 201,
        description:
          'The key holds the named permissions (default: all of yours), each of which you must hold (else 403 naming it); ' +
          'at every use it gets only those you still hold. Send it as `Authorization: Bearer tcrm_…` or `X-Api-Key`. ' +
          'Only a password sign-in may create keys.',
      }),
    )
    .input(createApiKeyInput)
    .output(apiKeyWithSecretSchema)
    .mutation(({ ctx, input }) => createApiKey(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('api_keys:manage')
    .meta(rest('GET', '/api-keys', 'api-keys', 'List API keys (own, or everyone’s with manage_all); never the keys'))
    .input(listApiKeysInput)
    .output(apiKeyPage)
    .query(({ ctx, input }) => listApiKeys(ctx.deps, ctx.caller, input)),

  revoke: permissionProcedure('api_keys:manage')
    .meta(rest('DELETE', '/api-keys/{id}', 'api-keys', 'Revoke an API key: refused from the next request on'))
    .input(z.object({ id: idSchema }))
    .output(revokeApiKeyOutput)
    .mutation(({ ctx, input }) => revokeApiKey(ctx.deps, ctx.caller, input)),
});
