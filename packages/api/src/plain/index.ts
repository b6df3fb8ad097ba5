import type { ServiceDeps } from '@touch-crm/services';
import { exportRoutes } from './exports.ts';
import { importRoutes } from './imports.ts';
import type { PlainRoute } from './route.ts';
import { smsRoutes } from './sms.ts';

export type { Connection, PlainRoute } from './route.ts';

/**
 * Every plain route. Mount them before the REST mirror, so `/customers/export` is not read as
 * `/customers/{id}`.
 */
export const plainRoutes = (deps: ServiceDeps): PlainRoute[] => [
  ...exportRoutes(deps),
  ...importRoutes(deps),
  ...smsRoutes(deps),
];
