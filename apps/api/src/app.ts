import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import {
  appRouter,
  buildOpenApiDocument,
  type Context,
  createRestHandler,
  createTrpcHandler,
  credentialsOf,
  EdgeError,
  errorResponse,
  handleError,
  plainRoutes,
  problemBody,
  REST_PREFIX,
  toHttpError,
} from '@touch-crm/api';
import type { ServiceDeps } from '@touch-crm/services';
import { Hono, type Context as HonoContext } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { timeout } from 'hono/timeout';
import type { Logger } from 'pino';
import { clientIp } from './client-ip.ts';
import { createMetrics, createRouteLabeler } from './metrics.ts';
import { readinessProbe } from './readiness.ts';
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

  const trpcHandler = createTrpcHandler({ endpoint: '/trpc', maxBatchSize: deps.config.TRPC_MAX_BATCH_SIZE });
  const restHandler = createRestHandler();
  const plain = plainRoutes(deps);

  const buildContext = (c: HonoContext<Env>): Context => {
    const ip = clientIp(c, { trustProxy: deps.config.TRUST_PROXY, hops: deps.config.TRUST_PROXY_HOPS });
    return {
      deps,
      requestId: c.get('requestId'),
      ip,
      credentials: credentialsOf(c.req.raw.headers, ip),
      log: log.child({ requestId: c.get('requestId') }),
    };
  };
  /** The error body every route answers with, for failures of the edge itself. */
  const edgeError = (c: HonoContext<Env>, error: EdgeError) => toHttpError(error, c.get('requestId'));

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
      (c) =>
        new HTTPException(503, {
          res: errorResponse(edgeError(c, new EdgeError(503, 'TIMEOUT', 'The request took too long')), c.req.path),
        }),
    ),
  );
  app.use(secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } }));
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      // The rest of the body is never read, so the connection cannot be reused.
      onError: (c) =>
        errorResponse(
          edgeError(
            c,
            new EdgeError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxSize} bytes`, { Connection: 'close' }),
          ),
          c.req.path,
        ),
    });
  const bodyLimits = {
    default: limitBody(deps.config.BODY_LIMIT_BYTES),
    import: limitBody(deps.config.IMPORT_MAX_BYTES),
  };
  // CSV uploads get IMPORT_MAX_BYTES; every other route BODY_LIMIT_BYTES.
  const largeBodies = new Set(plain.filter((route) => route.largeBody).map((route) => `${REST_PREFIX}${route.path}`));
  app.use((c, next) => (largeBodies.has(c.req.path) ? bodyLimits.import : bodyLimits.default)(c, next));
  app.onError((error, c) =>
    error instanceof HTTPException
      ? error.getResponse()
      : errorResponse(handleError(error, buildContext(c)), c.req.path),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const metricsToken = deps.config.METRICS_TOKEN;
  // Without METRICS_TOKEN there is no /metrics at all (404 below).
  if (metricsToken) {
    // bearerAuth answers 400 for a header of another scheme, 401 otherwise.
    const refused = (status: number) => ({
      message: (c: HonoContext<Env>) =>
        problemBody(
          edgeError(c, new EdgeError(status, 'UNAUTHORIZED', 'A valid metrics token is required')),
          c.req.path,
        ),
    });
    app.get(
      '/metrics',
      bearerAuth({
        token: metricsToken,
        noAuthenticationHeader: refused(401),
        invalidAuthenticationHeader: refused(400),
        invalidToken: refused(401),
      }),
      async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
    );
  }
  app.get('/readyz', readinessProbe(deps.db.$client));

  app.get('/openapi.json', (c) => c.body(openApiDocument, 200, { 'content-type': 'application/json' }));
  await mountSwaggerUi(app, '/openapi.json');

  app.all('/trpc/*', (c) => trpcHandler(c.req.raw, buildContext(c)));
  for (const route of plain)
    app.on(route.method, `${REST_PREFIX}${route.path}`, (c) =>
      route.handle(c.req.raw, buildContext(c), { abort: () => abortConnection(c) }),
    );
  app.all(`${REST_PREFIX}/*`, (c) => restHandler(c.req.raw, buildContext(c)));
  app.notFound((c) => errorResponse(edgeError(c, new EdgeError(404, 'NOT_FOUND', 'Not found')), c.req.path));

  return app;
}

/** Drops the client's connection mid-response (a cut-off export); false when not served by Node. */
function abortConnection(c: HonoContext): boolean {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  // Ended already: another response (the request timeout's) went out; its socket may serve others.
  if (outgoing && !outgoing.writableEnded) outgoing.destroy();
  return Boolean(outgoing);
}
