import type { Config } from '@touch-crm/config';
import { createBoss, ensureQueues } from '@touch-crm/jobs';
import type { Logger } from 'pino';

export interface RunningWorker {
  stop: () => Promise<void>;
}

/**
 * The background process: pg-boss in the application's database. Several may run at
 * once; pg-boss hands each job to one of them.
 */
export async function startWorker(options: {
  config: Config;
  databaseUrl: string;
  log: Logger;
}): Promise<RunningWorker> {
  const { log } = options;
  const boss = createBoss(options.databaseUrl);
  boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
  await boss.start();
  await ensureQueues(boss);
  log.info('worker ready');
  return {
    stop: async () => {
      // Stop fetching, let jobs in flight finish (bounded), then close the pool.
      await boss.stop({ graceful: true, timeout: 30_000 });
    },
  };
}
