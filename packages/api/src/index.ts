export * from './app-router.ts';
export type { Context, Logger } from './context.ts';
export { retryAfterOf } from './errors.ts';
export * from './openapi-document.ts';
