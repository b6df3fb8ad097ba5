import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ConfigError, configSchema, loadConfig } from '@touch-crm/config';
import { programFile } from '@touch-crm/test-utils';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = (path: string) => new URL(`../../../${path}`, import.meta.url);
const variables = Object.keys(configSchema.shape);

describe('configuration', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, APP_TIMEZONE: 'UTC', JWT_TTL: 43_200, CURRENCY: 'USD' });
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ PORT: 'abc', APP_TIMEZONE: 'Mars/Olympus', JWT_TTL: 'soon' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['PORT', 'APP_TIMEZONE', 'JWT_TTL']) expect(message).toContain(name);
    }
  });

  it('refuses production without a JWT_SECRET of at least 32 bytes', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).NODE_ENV).toBe('production');
  });

  it('refuses a short METRICS_TOKEN and more concurrent exports than export connections', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ EXPORT_POOL_SIZE: '2', EXPORT_MAX_CONCURRENT: '3' })).toThrow(/EXPORT_MAX_CONCURRENT/);
    expect(loadConfig({}).TRPC_MAX_BATCH_SIZE).toBe(20);
  });

  it('stops the API process with a message naming the variable', () => {
    const result = spawnSync(process.execPath, [programFile('api')], {
      env: { ...process.env, PORT: 'not-a-port', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT');
  });
});

describe('deployment files', () => {
  it('docs/configuration.md has a table row for every variable the schema reads, and no other', async () => {
    const page = await readFile(repo('docs/configuration.md'), 'utf8');
    // The first cell of a row names one variable or several (`SMS_HTTP_URL` / `SMS_HTTP_TOKEN`).
    const documented = page
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1]));
    expect([...documented].sort()).toEqual([...variables].sort());
  });

  it('.env.example documents every variable', async () => {
    const example = await readFile(repo('.env.example'), 'utf8');
    for (const name of variables) expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });

  it('docker-compose.yml parses, gives the app every variable, and builds targets the Dockerfile has', async () => {
    const compose = parse(await readFile(repo('docker-compose.yml'), 'utf8'));
    const dockerfile = await readFile(repo('Dockerfile'), 'utf8');
    const targets = new Set([...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]));
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['postgres', 'migrate', 'api', 'worker', 'nginx']),
    );
    expect(Object.keys(compose.services)).not.toContain('redis');
    for (const [name, service] of Object.entries<{ build?: { target: string }; environment?: object }>(
      compose.services,
    )) {
      if (!service.build) continue;
      expect(targets, name).toContain(service.build.target);
      for (const variable of variables) expect(service.environment, `${name}.${variable}`).toHaveProperty(variable);
    }
    expect(compose.services.postgres.image).toMatch(/^postgres:17/);
    expect(compose.services.postgres.healthcheck).toBeDefined();
    expect(dockerfile).toMatch(/^FROM node:24-slim/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('--prod');
  });

  it('nginx proxies /api, /trpc and /api-docs to the API', async () => {
    const nginx = await readFile(repo('deploy/nginx.conf'), 'utf8');
    expect(nginx).toMatch(/location ~ \^\/\(api\|trpc\|api-docs/);
    expect(nginx).toContain('proxy_pass http://touch_crm_api');
  });
});
