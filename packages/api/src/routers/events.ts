import { eventPageSchema, listEventsInput } from '@touch-crm/contract';
import { listEvents } from '@touch-crm/services';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const eventsRouter = router({
  list: permissionProcedure('events:read')
    .meta(
      rest('GET', '/events', 'events', 'The domain events after a cursor, as webhooks carry them (events:read)', {
        description:
          "The pull alternative to webhooks, and the way to replay what a failed endpoint missed: pass the answer's `nextCursor` as `after` to read on. `types` filters by type (`order.placed`), resource (`customer.*`) or `*`. Events appear once every transaction older than theirs has finished, in the order of their transactions; `events:read_own` shows only events of own customers.",
      }),
    )
    .input(listEventsInput)
    .output(eventPageSchema)
    .query(({ ctx, input }) => listEvents(ctx.deps, ctx.caller, input)),
});
