import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createRateLimitCounter } from '@touch-crm/api';
import type { Config } from '@touch-crm/config';
import { connectDatabase, connectListener, DEFAULT_ADMIN_USERNAME, schema } from '@touch-crm/db';
import { createBoss, createJobQueue, ensureQueues } from '@touch-crm/jobs';
import {
  createRolePermissionCache,
  createVerifiedTokens,
  deriveCursorKey,
  resolveJwtKey,
  type ServiceDeps,
  SessionCache,
} from '@touch-crm/services';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { createApp } from './app.ts';

export const VERSION = '0.1.0';
/** `application_name` of the exports' connections, to tell them apart in pg_stat_activity. */
export const EXPORT_APPLICATION_NAME = 'touch-crm-api-export';

export interface RunningApi {
  url: string;
  port: number;
  deps: ServiceDeps;
  /** The seeded admin still has the default password. */
  defaultAdminPassword: boolean;
  close: () => Promise<void>;
}

/** Starts the HTTP server against an already migrated and seeded database. */
export async function startApi(options: {
  config: Config;
  databaseUrl: string;
  log: Logger;
  now?: () => Date;
}): Promise<RunningApi> {
  const { config, log } = options;
  const database = connectDatabase(options.databaseUrl, {
    max: config.DATABASE_POOL_SIZE,
    applicationName: 'touch-crm-api',
  });
  // Exports hold a connection for as long as their client reads: they get a pool of their own.
  const exportDatabase = connectDatabase(options.databaseUrl, {
    max: config.EXPORT_POOL_SIZE,
    applicationName: EXPORT_APPLICATION_NAME,
  });
  // pg-boss for sending jobs inside the API's transactions only: no cron pass, no maintenance,
  // no LISTEN connection (the worker processes do all of that).
  const boss = createBoss(options.databaseUrl, {
    max: 2,
    schedule: false,
    supervise: false,
    listen: false,
    applicationName: 'touch-crm-api-jobs',
  });
  boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
  // The session cache LISTENs on a connection of its own; heartbeats and fences go through the pool.
  const sessionCache = new SessionCache({
    connectListener: (handlers) => connectListener(options.databaseUrl, handlers, 'touch-crm-api-listen'),
    sender: database.db.$client,
  });
  // Independent start-up steps run side by side: pg-boss's schema check and queues, the LISTEN,
  // the JWT key and the default-admin check each wait on the database or the disk, not on each other.
  const [, , jwtKey, [defaultAdmin]] = await Promise.all([
    sessionCache.start(),
    boss.start().then(() => ensureQueues(boss)),
    resolveJwtKey(config),
    database.db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(
        and(
          sql`lower(${schema.users.username}) = ${DEFAULT_ADMIN_USERNAME}`,
          eq(schema.users.mustChangePassword, true),
        ),
      ),
  ]);
  const deps: ServiceDeps = {
    db: database.db,
    exportDb: exportDatabase.db,
    config,
    now: options.now ?? (() => new Date()),
    jwtKey,
    cursorKey: deriveCursorKey(jwtKey),
    verifiedTokens: createVerifiedTokens(),
    rolePermissions: createRolePermissionCache(),
    sessionCache,
    jobs: createJobQueue(boss),
  };
  const rateLimits = createRateLimitCounter(deps);
  const app = await createApp({ deps, log, version: VERSION, rateLimits });
  if (defaultAdmin)
    log.warn('the default admin password is still in use: sign in and change it (POST /api/v1/auth/change-password)');

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const instance = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(instance));
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;

  return {
    url: config.PUBLIC_URL ?? `http://${host}:${port}`,
    port,
    deps,
    defaultAdminPassword: Boolean(defaultAdmin),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        const closeAll = (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections;
        closeAll?.call(server);
        setTimeout(
          () => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(),
          5_000,
        ).unref();
      });
      await Promise.all([boss.stop({ graceful: false, timeout: 5_000 }), rateLimits.close(), sessionCache.close()]);
      await Promise.all([database.close(), exportDatabase.close()]);
    },
  };
}
