import { jobInfoSchema, runJobInput, runJobResultSchema } from '@touch-crm/contract';
import { listJobs, runJob } from '@touch-crm/services';
import { z } from 'zod';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const jobsRouter = router({
  list: permissionProcedure('jobs:read')
    .meta(rest('GET', '/jobs', 'jobs', 'Background jobs: schedule (cron, time zone), last run and its outcome'))
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
          successStatus: 202,
        },
      ),
    )
    .input(runJobInput)
    .output(runJobResultSchema)
    .mutation(({ ctx, input }) => runJob(ctx.deps, ctx.caller, input)),
});
