export * from './app-router.ts';
export { type Credentials, credentialsOf } from './authorize.ts';
export type { Context, Logger } from './context.ts';
export { guarded } from './edge/index.ts';
export { createRateLimitCounter, type RateLimitCounter } from './edge/rate-limit-counter.ts';
export { secretResponseMatcher } from './edge/secret-responses.ts';
export {
  EdgeError,
  errorAnswer,
  errorResponse,
  type HttpError,
  handleError,
  problemBody,
  TRPC_ENDPOINT,
  toHttpError,
} from './http-error.ts';
export * from './openapi-document.ts';
export { type Connection, type PlainRoute, plainRoutes } from './plain/index.ts';
export { createRestHandler } from './rest-handler.ts';
export { createTrpcHandler } from './trpc-handler.ts';
