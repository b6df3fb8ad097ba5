import { type AppRouter, type Context, createCaller, credentialsOf } from '@touch-crm/api';
import { type Config, loadConfig } from '@touch-crm/config';
import type { ServiceDeps } from '@touch-crm/services';
import pino, { type Logger } from 'pino';
import { inject } from 'vitest';
import { createTestDatabase } from './database.ts';

/** What the harness needs of the API app; the app itself is provided by the test setup, never imported here. */
export type StartApi = (options: { config: Config; databaseUrl: string; log: Logger; now?: () => Date }) => Promise<{
  url: string;
  deps: ServiceDeps;
  close: () => Promise<void>;
}>;

let loadStartApi: (() => Promise<StartApi>) | undefined;

/** Called by the vitest setup file (vitest.setup.ts), so this package never imports an app. */
export function provideApi(load: () => Promise<StartApi>): void {
  loadStartApi = load;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/**
 * For tests that run a webhook receiver on this machine: the address rules refuse loopback in
 * every environment, so such a test allows it, as an intranet allows its own range.
 */
export const LOCAL_WEBHOOK_RECEIVERS = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } as const;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_POOL_SIZE: '5',
    // No test meets a rate limit by accident; the rate-limit tests set their own.
    RATE_LIMIT_PER_PRINCIPAL: '1000000',
    RATE_LIMIT_PER_IP: '1000000',
    RATE_LIMIT_EXPORTS: '1000000',
    RATE_LIMIT_IMPORTS: '1000000',
    RATE_LIMIT_CAMPAIGN_EXECUTE: '1000000',
    ...overrides,
  });
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One REST answer as `rest` saw it, for `onResponse` (the OpenAPI conformance test collects them). */
export interface RecordedResponse {
  method: string;
  /** The request's path, without the query string (`/api/v1/customers/…`). */
  path: string;
  status: number;
  /** The media type, without parameters. */
  contentType: string | undefined;
  body: unknown;
  text: string;
}

export interface TestApi {
  url: string;
  databaseUrl: string;
  deps: ServiceDeps;
  config: Config;
  /** Real HTTP against the REST mirror; `path` is below /api/v1 unless it starts with `//`. */
  rest: <T = any>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ) => Promise<HttpResult<T>>;
  /** A tRPC caller with the given bearer token, exactly as the HTTP transports build it. */
  caller: (token?: string) => ReturnType<typeof createCaller>;
  close: () => Promise<void>;
}

/** An isolated database and a real API server on a free port, for one test file (silent unless given a log). */
export async function startTestApi(
  options: {
    env?: Record<string, string>;
    now?: () => Date;
    log?: Logger;
    /** Called with every answer `rest` receives. */
    onResponse?: (response: RecordedResponse) => void;
  } = {},
): Promise<TestApi> {
  if (!loadStartApi) throw new Error('no API app provided: vitest.setup.ts calls provideApi');
  const startApi = await loadStartApi();
  const database = await createTestDatabase(inject('databaseServerUrl'));
  const config = testConfig(options.env);
  const log = options.log ?? pino({ level: 'silent' });
  const api = await startApi({ config, databaseUrl: database.url, log, now: options.now });

  const rest: TestApi['rest'] = async (method, path, requestOptions = {}) => {
    const headers: Record<string, string> = { ...requestOptions.headers };
    if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
    let body: string | undefined = requestOptions.rawBody;
    if (requestOptions.body !== undefined) body = JSON.stringify(requestOptions.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const url = path.startsWith('//') ? `${api.url}${path.slice(1)}` : `${api.url}/api/v1${path}`;
    const response = await fetch(url, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    options.onResponse?.({
      method,
      path: new URL(url).pathname,
      status: response.status,
      contentType: response.headers.get('content-type')?.split(';')[0]?.trim(),
      body: parsed,
      text,
    });
    return { status: response.status, headers: response.headers, body: parsed as never, text };
  };

  const caller = (token?: string) => {
    const ctx: Context = {
      deps: api.deps,
      requestId: 'test',
      ip: '127.0.0.1',
      credentials: credentialsOf(new Headers(token ? { authorization: `Bearer ${token}` } : {}), '127.0.0.1'),
      log,
    };
    return createCaller(ctx);
  };

  return {
    url: api.url,
    databaseUrl: database.url,
    deps: api.deps,
    config,
    rest,
    caller,
    close: async () => {
      await api.close();
      await database.drop();
    },
  };
}

export type { AppRouter };
