import { z } from 'zod';
import { idSchema, isoDateTime, pageQuery, paginated, safeString } from './common.ts';

/** Every key starts with this, so secret scanners and people can recognise one. */
export const API_KEY_PREFIX = 'tcrm_';

const permissionKey = safeString.trim().min(1).max(100).meta({ example: 'customers:read_own' });

export const createApiKeyInput = z.object({
  name: safeString.trim().min(1).max(100).meta({ example: 'Shop sync' }),
  /** Permissions the key names; each must be one the creator holds. Omitted: all of the creator's. */
  permissions: z
    .array(permissionKey)
    .min(1)
    .max(200)
    .optional()
    .meta({ example: ['customers:read_own', 'orders:read_own'] }),
  /** When the key stops working; omitted or null: never. */
  expiresAt: isoDateTime.nullish(),
});
export type CreateApiKeyInput = z.infer<typeof createApiKeyInput>;

export const apiKeySchema = z
  .object({
    id: idSchema,
    /** The user the key acts for (its creator). */
    userId: idSchema,
    name: z.string(),
    /** The key's first characters, to tell keys apart; never the key. */
    prefix: z.string().meta({ example: 'tcrm_4fZ8qK2m' }),
    /** As named at creation; at each use only those its creator still holds apply. */
    permissions: z.array(z.string()),
    createdAt: isoDateTime,
    lastUsedAt: isoDateTime.nullable(),
    lastUsedIp: z.string().nullable(),
    expiresAt: isoDateTime.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof apiKeySchema>;

/** The answer to create: the only time the key itself is shown. */
export const apiKeyWithSecretSchema = apiKeySchema
  .extend({
    /** Send as `Authorization: Bearer <key>` or `X-Api-Key: <key>`. Shown this once: store it now. */
    key: z.string().meta({ example: 'tcrm_4fZ8qK2m…' }),
  })
  .meta({ id: 'ApiKeyWithSecret' });
export type ApiKeyWithSecret = z.infer<typeof apiKeyWithSecretSchema>;

export const listApiKeysInput = z.object({
  ...pageQuery,
  /** Only this user's keys (with `api_keys:manage_all`; others see only their own anyway). */
  userId: idSchema.optional(),
});
export type ListApiKeysInput = z.infer<typeof listApiKeysInput>;
export const apiKeyPage = paginated(apiKeySchema);

export const revokeApiKeyOutput = z
  .object({ id: idSchema, outcome: z.literal('REVOKED') })
  .meta({ id: 'RevokedApiKey' });
export type RevokedApiKey = z.infer<typeof revokeApiKeyOutput>;
