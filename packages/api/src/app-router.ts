import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { apiKeysRouter } from './routers/api-keys.ts';
import { auditRouter } from './routers/audit.ts';
import { authRouter } from './routers/auth.ts';
import { campaignsRouter } from './routers/campaigns.ts';
import { customerLevelsRouter } from './routers/customer-levels.ts';
import { customersRouter } from './routers/customers.ts';
import { eventsRouter } from './routers/events.ts';
import { importsRouter } from './routers/imports.ts';
import { jobsRouter } from './routers/jobs.ts';
import { messagesRouter, messageTemplatesRouter } from './routers/messages.ts';
import { ordersRouter } from './routers/orders.ts';
import { productsRouter } from './routers/products.ts';
import { projectsRouter } from './routers/projects.ts';
import { promotionsRouter } from './routers/promotions.ts';
import { tasksRouter } from './routers/tasks.ts';
import { permissionsRouter, rolesRouter, usersRouter } from './routers/users.ts';
import { webhooksRouter } from './routers/webhooks.ts';
import { worklogsRouter } from './routers/worklogs.ts';
import { createCallerFactory, type Meta, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  roles: rolesRouter,
  permissions: permissionsRouter,
  customers: customersRouter,
  customerLevels: customerLevelsRouter,
  products: productsRouter,
  orders: ordersRouter,
  promotions: promotionsRouter,
  projects: projectsRouter,
  tasks: tasksRouter,
  worklogs: worklogsRouter,
  audit: auditRouter,
  messages: messagesRouter,
  messageTemplates: messageTemplatesRouter,
  campaigns: campaignsRouter,
  jobs: jobsRouter,
  webhooks: webhooksRouter,
  imports: importsRouter,
  apiKeys: apiKeysRouter,
  events: eventsRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);

/**
 * Each procedure's dotted path (`customers.get`) and meta, in router order: `_def.procedures` is
 * flat at run time, while its type is the nested router.
 */
export function procedureMetas(): [path: string, meta: Meta | undefined][] {
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { meta?: Meta } }>;
  return Object.entries(procedures).map(([path, { _def }]) => [path, _def.meta]);
}
