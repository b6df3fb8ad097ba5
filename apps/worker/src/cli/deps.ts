import type { Config } from '@touch-crm/config';
import { connectDatabase, migrationsApplied, resolveDatabase, runMigrations } from '@touch-crm/db';
import { createBoss, createJobQueue, ensureQueues, type JobQueue, type PgBoss } from '@touch-crm/jobs';
import { DomainError, type ServiceDeps } from '@touch-crm/services';

/** What an operator's command does with the database and the job queue. */
export interface CliRole {
  /** Its PostgreSQL application name, as pg_stat_activity shows it. */
  name: string;
  pool: number;
  /** `send` starts pg-boss, so jobs queued by its changes commit with them; `none` refuses any send. */
  jobs: 'send' | 'none';
  /** `apply` migrates first (a fresh database); `require` refuses to run on an unmigrated one. */
  migrations?: 'apply' | 'require';
}

export interface CliDeps {
  deps: ServiceDeps;
  /** pg-boss, started, when the role sends jobs. */
  boss: PgBoss | undefined;
  close(): Promise<void>;
}

/** A reader's queue: a send would be a bug in the command, so it fails loudly instead of vanishing. */
const refusingJobs: JobQueue = {
  send: (_db, name) => Promise.reject(new Error(`this command sends no jobs (tried ${name})`)),
  sendMany: (_db, name) => Promise.reject(new Error(`this command sends no jobs (tried ${name})`)),
};

/** The services' dependencies for an operator's command (CLI), built as its role needs them. */
export function createDeps(config: Config, role: CliRole & { jobs: 'send' }): Promise<CliDeps & { boss: PgBoss }>;
export function createDeps(config: Config, role: CliRole): Promise<CliDeps>;
export async function createDeps(config: Config, role: CliRole): Promise<CliDeps> {
  const database = await resolveDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    port: config.EMBEDDED_PG_PORT,
  });
  if (role.migrations === 'apply') await runMigrations(database.url);
  const connection = connectDatabase(database.url, { max: role.pool, applicationName: role.name });
  const boss =
    role.jobs === 'send'
      ? createBoss(database.url, { max: 2, schedule: false, supervise: false, listen: false })
      : undefined;
  const close = async () => {
    await boss?.stop({ graceful: false, close: true, timeout: 5_000 }).catch(() => {});
    await connection.close();
    await database.stop();
  };
  try {
    if (role.migrations === 'require' && !(await migrationsApplied(connection.db.$client)))
      throw new DomainError('BAD_REQUEST', 'the database is not migrated: run pnpm db:migrate (or pnpm start) first');
    if (boss) {
      await boss.start();
      await ensureQueues(boss);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const deps: ServiceDeps = {
    db: connection.db,
    config,
    now: () => new Date(),
    // Commands sign no tokens.
    jwtKey: new Uint8Array(0),
    jobs: boss ? createJobQueue(boss) : refusingJobs,
  };
  return { deps, boss, close };
}
