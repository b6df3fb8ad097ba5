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
  errorAnswer,
  guarded,
  handleError,
  plainRoutes,
  problemBody,
  type RateLimitCounter,
  REST_PREFIX,
  restOperations,
  secretResponseMatcher,
  TRPC_ENDPOINT,
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
  /** This process's rate-limit counts; the server closes it (flushing them) when it stops. */
  rateLimits: RateLimitCounter;
}

/** The HTTP surface: tRPC, the REST mirror, the OpenAPI document, Swagger UI and probes. */
export async function createApp({ deps, log, version, rateLimits }: AppOptions) {
  const app = new Hono<Env>();
  // Generating the document from every zod schema took over a second of start-up: it is built when
  // first asked for, once per process.
  let openApiDocument: string | undefined;
  const openApiJson = () => {
    openApiDocument ??= JSON.stringify(buildOpenApiDocument({ version, serverUrl: deps.config.PUBLIC_URL }));
    return openApiDocument;
  };
  const metrics = createMetrics(deps.db.$client);
  const routeLabel = createRouteLabeler({
    restPrefix: REST_PREFIX,
    restOperations: restOperations(),
    procedures: Object.keys(appRouter._def.procedures),
  });

  const trpcHandler = createTrpcHandler({ endpoint: TRPC_ENDPOINT, maxBatchSize: deps.config.TRPC_MAX_BATCH_SIZE });
  const restHandler = createRestHandler();
  const plain = plainRoutes(deps);

  const buildContext = (c: HonoContext<Env>): Context => {
    const ip = clientIp(c, { trustProxy: deps.config.TRUST_PROXY, hops: deps.config.TRUST_PROXY_HOPS });
    const requestId = c.get('requestId');
    // The pino child is built when something logs: one per request cost more than most requests'
    // SQL. Plain methods, not a getter: tRPC copies the context, which would call a getter.
    let child: Logger | undefined;
    const requestLog = () => {
      child ??= log.child({ requestId });
      return child;
    };
    return {
      deps,
      requestId,
      ip,
      credentials: credentialsOf(c.req.raw.headers, ip),
      log: {
        info: (object, message) => requestLog().info(object, message),
        warn: (object, message) => requestLog().warn(object, message),
        error: (object, message) => requestLog().error(object, message),
      },
    };
  };
  /** The error every route answers with, for failures of the edge itself. */
  const edgeError = (c: HonoContext<Env>, error: EdgeError) => toHttpError(error, c.get('requestId'));
  /** …in the envelope of the request's transport: tRPC's under /trpc, a problem elsewhere. */
  const edgeAnswer = (c: HonoContext<Env>, error: EdgeError) => errorAnswer(edgeError(c, error), c.req.path);

  // The access line's fields are fixed and hold no secret: redacting them cost more than writing them.
  const accessLog = log.child({}, { redact: [] });
  app.use(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    const started = performance.now();
    await next();
    setResponseHeaders(c, [['X-Request-Id', requestId]]);
    const seconds = (performance.now() - started) / 1000;
    metrics.observe(c.req.method, routeLabel(c), c.res.status, seconds);
    accessLog.info({
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
        allowHeaders: ['authorization', 'x-api-key', 'content-type', 'x-request-id', 'idempotency-key'],
        exposeHeaders: ['x-request-id', 'retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed'],
        maxAge: 600,
      }),
    );
  app.use(
    timeout(
      deps.config.REQUEST_TIMEOUT_MS,
      (c) => new HTTPException(503, { res: edgeAnswer(c, new EdgeError(503, 'TIMEOUT', 'The request took too long')) }),
    ),
  );
  app.use(secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } }));
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      // The rest of the body is never read, so the connection cannot be reused.
      onError: (c) =>
        edgeAnswer(
          c,
          new EdgeError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxSize} bytes`, { Connection: 'close' }),
        ),
    });
  const bodyLimits = {
    default: limitBody(deps.config.BODY_LIMIT_BYTES),
    import: limitBody(deps.config.IMPORT_MAX_BYTES),
  };
  // CSV uploads get IMPORT_MAX_BYTES; every other route BODY_LIMIT_BYTES.
  const largeBodies = new Set(plain.filter((route) => route.largeBody).map((route) => `${REST_PREFIX}${route.path}`));
  app.use((c, next) => {
    // Without either header there is no body to limit; asking the limit would build a whole fetch Request.
    if (c.req.header('content-length') === undefined && c.req.header('transfer-encoding') === undefined) return next();
    return (largeBodies.has(c.req.path) ? bodyLimits.import : bodyLimits.default)(c, next);
  });
  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : errorAnswer(handleError(error, buildContext(c)), c.req.path),
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

  app.get('/openapi.json', (c) => c.body(openApiJson(), 200, { 'content-type': 'application/json' }));
  await mountSwaggerUi(app, '/openapi.json');

  // Every procedure and plain route counts against the rate limits and honours Idempotency-Key.
  const edge = { limits: rateLimits, carriesSecret: secretResponseMatcher() };
  const serve = async (c: HonoContext<Env>, handle: (request: Request, context: Context) => Promise<Response>) => {
    const context = buildContext(c);
    // HEAD is GET without the body: Hono routes it as GET and drops the body, but tRPC and
    // trpc-to-openapi would answer a HEAD 204 themselves, so the handlers see the GET; the body is
    // cancelled unread (an export frees its cursor and slot).
    const head = c.req.raw.method === 'HEAD';
    const request = head ? asGet(c.req.raw) : c.req.raw;
    const response = await guarded(edge, request, context, () => handle(request, context));
    if (!head) return response;
    await response.body?.cancel();
    return new Response(null, response);
  };
  app.all(`${TRPC_ENDPOINT}/*`, (c) => serve(c, (request, context) => trpcHandler(request, context)));
  for (const route of plain)
    app.on(route.method, `${REST_PREFIX}${route.path}`, (c) =>
      serve(c, (request, context) => route.handle(request, context, { abort: () => abortConnection(c) })),
    );
  app.all(`${REST_PREFIX}/*`, (c) => serve(c, (request, context) => restHandler(request, context)));
  app.notFound((c) => edgeAnswer(c, new EdgeError(404, 'NOT_FOUND', 'Not found')));

  return app;
}

/**
 * Sets headers on the response a handler returned. `c.header` after the handler rebuilds the
 * response from its body, which turns @hono/node-server's string body into a stream it must then
 * read back; the handlers' own responses have mutable headers, so they are set in place.
 */
function setResponseHeaders(c: HonoContext, headers: readonly (readonly [string, string])[]) {
  try {
    for (const [name, value] of headers) c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a response passed through from fetch): the rebuild is unavoidable.
    for (const [name, value] of headers) c.header(name, value);
  }
}

/** The GET a HEAD request stands for: same address and headers. */
const asGet = (request: Request) =>
  new Request(request.url, { method: 'GET', headers: request.headers, signal: request.signal });

/** Drops the client's connection mid-response (a cut-off export); false when not served by Node. */
function abortConnection(c: HonoContext): boolean {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  // Ended already: another response (the request timeout's) went out; its socket may serve others.
  if (outgoing && !outgoing.writableEnded) outgoing.destroy();
  return Boolean(outgoing);
}
