import { jobInfoSchema, runJobInput, runJobResultSchema } from '@touch-crm/contract';
import { listJobs, runJob } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const jobsRouter = router({
  list: permissionProcedure('jobs:read')
    .meta(
      rest('GET', '/jobs', 'jobs', 'Background jobs: schedule (cron, time zone), last run and its outcome', {
        description:
          'Every background job the worker runs (RFM scoring, birthday messages, recurring tasks, pruning …): its schedule (cron and time zone) and the outcome of its last run. Needs `jobs:read` (administrators).',
      }),
    )
    .input(z.void())
    .output(z.array(jobInfoSchema))
    .query(({ ctx }) => listJobs(ctx.deps)),

  run: permissionProcedure('jobs:run')
    .meta(
      rest(
        'POST',
        '/jobs/{name}/run',
        'jobs',
        'Run a job now: queued for the worker, which picks it up within seconds',
        {
          description:
            'Queues a run of a job now, outside its schedule; the worker picks it up within seconds (202). An unknown job name is a 404. Follow it in `GET /jobs`. Needs `jobs:run` (administrators).',
          successStatus: 202,
        },
      ),
    )
    .input(runJobInput)
    .output(runJobResultSchema)
    .mutation(({ ctx, input }) => runJob(ctx.deps, ctx.caller, input)),
});
