import { randomUUID } from 'node:crypto';
import { appRouter, buildOpenApiDocument, type Context, REST_PREFIX, retryAfterOf } from '@touch-crm/api';
import type { ServiceDeps } from '@touch-crm/services';
import type { TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { Hono, type Context as HonoContext } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { timeout } from 'hono/timeout';
import type { Logger } from 'pino';
import { clientIp } from './client-ip.ts';
import { IMPORT_PATH, mountImportRoutes } from './import-routes.ts';
import { createMetrics, createRouteLabeler } from './metrics.ts';
import { errorResponse, mountPlainRoutes } from './plain-routes.ts';
import { readinessProbe } from './readiness.ts';
import { createRestHandler } from './rest-handler.ts';
import { mountSwaggerUi } from './swagger.ts';

type Env = { Variables: { requestId: string } };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface AppOptions {
  deps: ServiceDeps;
  log: Logger;
  version: string;
}

/** The HTTP surface: tRPC, the REST mirror, the OpenAPI document, Swagger UI and probes. */
export async function createApp({ deps, log, version }: AppOptions) {
  const app = new Hono<Env>();
  const openApi = buildOpenApiDocument({ version, serverUrl: deps.config.PUBLIC_URL });
  const openApiDocument = JSON.stringify(openApi);
  const metrics = createMetrics(deps.db.$client);
  const routeLabel = createRouteLabeler({
    restPrefix: REST_PREFIX,
    openApiPaths: openApi.paths ?? {},
    procedures: Object.keys(appRouter._def.procedures),
  });

  const reportError = (error: TRPCError, ctx: Context | undefined) => {
    if (error.code === 'INTERNAL_SERVER_ERROR')
      log.error({ err: error.cause ?? error, requestId: ctx?.requestId }, 'unhandled error');
  };
  const restHandler = createRestHandler({ onError: reportError });

  const buildContext = (c: HonoContext<Env>): Context => ({
    deps,
    requestId: c.get('requestId'),
    ip: clientIp(c, { trustProxy: deps.config.TRUST_PROXY, hops: deps.config.TRUST_PROXY_HOPS }),
    authorization: c.req.header('authorization'),
    apiKey: c.req.header('x-api-key'),
    log: log.child({ requestId: c.get('requestId') }),
    response: {},
  });

  app.use(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(c.req.method, routeLabel(c), c.res.status, seconds);
    log.info({
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round(seconds * 10_000) / 10,
    });
  });
  const origins = deps.config.CORS_ORIGINS;
  if (origins.length > 0)
    app.use(
      cors({
        origin: origins.includes('*') ? '*' : (origin) => (origins.includes(origin) ? origin : null),
        allowHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id'],
        exposeHeaders: ['x-request-id', 'retry-after'],
        maxAge: 600,
      }),
    );
  app.use(
    timeout(
      deps.config.REQUEST_TIMEOUT_MS,
      () =>
        new HTTPException(503, {
          res: Response.json({ message: 'The request took too long', code: 'TIMEOUT' }, { status: 503 }),
        }),
    ),
  );
  app.use(secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } }));
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) => {
        // The rest of the body is never read, so the connection cannot be reused.
        c.header('Connection', 'close');
        return c.json({ message: `Request body exceeds ${maxSize} bytes`, code: 'PAYLOAD_TOO_LARGE' }, 413);
      },
    });
  const bodyLimits = {
    default: limitBody(deps.config.BODY_LIMIT_BYTES),
    import: limitBody(deps.config.IMPORT_MAX_BYTES),
  };
  // CSV uploads get IMPORT_MAX_BYTES; every other route BODY_LIMIT_BYTES.
  app.use((c, next) => (c.req.path === IMPORT_PATH ? bodyLimits.import : bodyLimits.default)(c, next));
  app.onError((error, c) => (error instanceof HTTPException ? error.getResponse() : errorResponse(c, error, log)));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const metricsToken = deps.config.METRICS_TOKEN;
  // Without METRICS_TOKEN there is no /metrics at all (404 below).
  if (metricsToken) {
    const refused = { message: 'A valid metrics token is required', code: 'UNAUTHORIZED' };
    app.get(
      '/metrics',
      bearerAuth({
        token: metricsToken,
        noAuthenticationHeader: { message: refused },
        invalidAuthenticationHeader: { message: refused },
        invalidToken: { message: refused },
      }),
      async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
    );
  }
  app.get('/readyz', readinessProbe(deps.db.$client));

  app.get('/openapi.json', (c) => c.body(openApiDocument, 200, { 'content-type': 'application/json' }));
  await mountSwaggerUi(app, '/openapi.json');

  app.all('/trpc/*', (c) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      req: c.req.raw,
      router: appRouter,
      maxBatchSize: deps.config.TRPC_MAX_BATCH_SIZE,
      createContext: () => buildContext(c),
      responseMeta: ({ errors }) => {
        const retryAfter = errors[0] ? retryAfterOf(errors[0]) : undefined;
        return retryAfter ? { headers: { 'Retry-After': String(retryAfter) } } : {};
      },
      onError: ({ error, ctx }) => reportError(error, ctx),
    }),
  );
  mountPlainRoutes(app, deps, log);
  mountImportRoutes(app, deps, log);
  app.all(`${REST_PREFIX}/*`, (c) => restHandler(c.req.raw, buildContext(c)));
  app.notFound((c) => c.json({ message: 'Not found', code: 'NOT_FOUND' }, 404));

  return app;
}
