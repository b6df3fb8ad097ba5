import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { auditRouter } from './routers/audit.ts';
import { authRouter } from './routers/auth.ts';
import { customersRouter } from './routers/customers.ts';
import { ordersRouter } from './routers/orders.ts';
import { productsRouter } from './routers/products.ts';
import { projectsRouter } from './routers/projects.ts';
import { promotionsRouter } from './routers/promotions.ts';
import { tasksRouter } from './routers/tasks.ts';
import { permissionsRouter, rolesRouter, usersRouter } from './routers/users.ts';
import { worklogsRouter } from './routers/worklogs.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  roles: rolesRouter,
  permissions: permissionsRouter,
  customers: customersRouter,
  products: productsRouter,
  orders: ordersRouter,
  promotions: promotionsRouter,
  projects: projectsRouter,
  tasks: tasksRouter,
  worklogs: worklogsRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export const createCaller = createCallerFactory(appRouter);
