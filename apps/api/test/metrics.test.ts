import { randomBytes } from 'node:crypto';
import { startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'metrics-token-for-the-tests-0123456789';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ env: { METRICS_TOKEN: TOKEN } });
});
afterAll(() => api?.close());

const scrape = (authorization?: string) =>
  api.rest('GET', '//metrics', { headers: authorization ? { authorization } : {} });

/** Every series of the request histogram, by its label set. */
const requestSeries = (text: string) =>
  new Set(
    text
      .split('\n')
      .filter((line) => line.startsWith('touch_crm_http_request_duration_seconds_count{'))
      .map((line) => line.slice(0, line.lastIndexOf(' '))),
  );

describe('/metrics access', () => {
  it('refuses a scrape without a token, with another scheme and with a wrong token', async () => {
    for (const authorization of [undefined, `Basic ${TOKEN}`, 'Bearer not-the-metrics-token']) {
      const res = await scrape(authorization);
      expect([400, 401]).toContain(res.status);
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(res.text).not.toContain('touch_crm_');
    }
  });

  it('serves prom-client output with the default process metrics for the right token', async () => {
    const res = await scrape(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    for (const family of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(res.text).toContain(`# TYPE ${family}`);
    expect(res.text).toContain('# TYPE touch_crm_http_request_duration_seconds histogram');
    expect(res.text).toContain('# TYPE touch_crm_messages gauge');
    expect(res.text).toContain('# TYPE touch_crm_jobs gauge');
  });

  it('is not served at all when METRICS_TOKEN is not configured', async () => {
    const bare = await startTestApi();
    try {
      const res = await bare.rest('GET', '//metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await bare.close();
    }
  });
});

describe('request series are labelled by the matched route pattern', () => {
  it('labels REST by the OpenAPI template, tRPC by procedure, batches and plain routes by pattern', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    await api.rest('GET', `/users/${id}`);
    await api.rest('GET', '//healthz');
    await api.rest('GET', '//trpc/auth.me');
    await api.rest('GET', '//trpc/auth.me,auth.me?batch=1&input={}');
    await api.rest('GET', '//trpc/no.such.procedure');
    await api.rest('GET', `/no-such-thing/${id}`);
    const text = (await scrape(`Bearer ${TOKEN}`)).text;
    expect(text).toMatch(
      /touch_crm_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/,
    );
    expect(text).toContain('route="/api/v1/users/{id}"');
    expect(text).toContain('route="/trpc/auth.me"');
    expect(text).toContain('route="/trpc/batch"');
    expect(text).toContain('route="unmatched"');
    expect(text).not.toContain(id);
    expect(text).not.toContain('no.such.procedure');
  });

  it('keeps the series count and the body small after 2,000 anonymous requests to random long paths', async () => {
    const before = requestSeries((await scrape(`Bearer ${TOKEN}`)).text).size;
    const prefixes = ['//', '/', '//trpc/', '//api-docs/', '/customers/'];
    for (let round = 0; round < 40; round++)
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const path = `${prefixes[i % prefixes.length]}${randomBytes(200).toString('hex')}`;
          return api.rest(i % 2 ? 'POST' : 'GET', path);
        }),
      );
    const res = await scrape(`Bearer ${TOKEN}`);
    const after = requestSeries(res.text);
    expect(after.size - before).toBeLessThanOrEqual(10);
    expect(res.text.length).toBeLessThan(100_000);
    expect(res.text).not.toMatch(/[0-9a-f]{64}/);
  });
});
