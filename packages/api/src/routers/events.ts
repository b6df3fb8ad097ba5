import { eventPageSchema, listEventsInput } from '@touch-crm/contract';
import { listEvents } from '@touch-crm/services';
import { rest } from '../openapi-meta.ts';
import { permissionProcedure, router } from '../trpc.ts';

export const eventsRouter = router({
  list: permissionProcedure('events:read')
    .meta(
      rest('GET', '/events', 'events', 'The domain events after a cursor, as webhooks carry them (events:read)', {
        description:
          "The domain events the server records (the payloads webhooks carry), after a cursor and in commit order: the pull alternative to webhooks and the way to replay what a failed endpoint missed. Pass the answer's `nextCursor` as `after` to read on; `types` filters by type (`order.placed`), resource (`customer.*`) or `*`. An event appears once every transaction older than it has finished, so a reader never skips one. `events:read_all` sees every event, `events:read_own` those of own customers.",
      }),
    )
    .input(listEventsInput)
    .output(eventPageSchema)
    .query(({ ctx, input }) => listEvents(ctx.deps, ctx.caller, input)),
});
