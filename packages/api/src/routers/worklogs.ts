import {
  createWorkLogInput,
  customerTimelineInput,
  listWorkLogsInput,
  workLogPage,
  workLogSchema,
} from '@touch-crm/contract';
import { createWorkLog, getCustomerTimeline, listWorkLogs } from '@touch-crm/services';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const worklogsRouter = router({
  create: permissionProcedure('worklogs:create')
    .meta(
      rest('POST', '/worklogs', 'worklogs', 'Log a call, meeting, email… on a customer', {
        description:
          "Logs activity on a customer (CALL, MEETING, EMAIL, SMS, NOTE, VISIT, TASK); the author is the caller, and it appears on the customer's timeline. Needs `worklogs:create` (`_own`: own customers).",
        successStatus: 201,
      }),
    )
    .input(createWorkLogInput)
    .output(workLogSchema)
    .mutation(({ ctx, input }) => createWorkLog(ctx.deps, ctx.caller, input)),

  list: permissionProcedure('worklogs:read')
    .meta(
      rest('GET', '/worklogs', 'worklogs', "List work logs in the caller's scope (customer, author, type, period)", {
        description:
          "Work logs in the caller's scope (`worklogs:read_own`: on own customers), filtered by customer, author, type and period, newest first, paginated.",
      }),
    )
    .input(listWorkLogsInput)
    .output(workLogPage)
    .query(({ ctx, input }) => listWorkLogs(ctx.deps, ctx.caller, input)),

  // Lives here, not in the customers router: it reads work logs and needs `worklogs:read`
  // (with `_own`, only the caller's customers).
  customerTimeline: permissionProcedure('worklogs:read')
    .meta(
      rest('GET', '/customers/{id}/worklogs', 'worklogs', "A customer's timeline, newest first", {
        description:
          "A customer's timeline, newest first: what users logged and what the system recorded (orders, promotions, status changes …). Needs `worklogs:read` on the customer (`_own`: own customers).",
      }),
    )
    .input(customerTimelineInput)
    .output(workLogPage)
    .query(({ ctx, input }) => getCustomerTimeline(ctx.deps, ctx.caller, input)),
});
