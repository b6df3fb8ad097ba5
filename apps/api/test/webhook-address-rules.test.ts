import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@touch-crm/config';
import { schema } from '@touch-crm/db';
import {
  forbiddenAddressKind,
  refusalOf,
  sendWebhookRequest,
  type UrlPolicy,
  urlPolicyOf,
  webhookUrlRefusal,
} from '@touch-crm/services';
import { createTeam, startTestApi, type TestApi } from '@touch-crm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { webhooks, auditLog } = schema;

const policyFor = (env: Record<string, string>) =>
  urlPolicyOf(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), ...env }));
const NO_EXEMPTIONS = policyFor({});

describe('which addresses a webhook may reach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    // IPv4-mapped, in every spelling
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:127.0.0.1', 'loopback'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    // IPv4-translated (RFC 6145) and IPv4-compatible
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['0:0:0:0:0:0:127.0.0.1', 'loopback'],
    ['::a00:1', 'private'],
    // NAT64: the well-known prefix carries its IPv4 address; the local-use prefix is refused
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::c0a8:101', 'private'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['64:ff9b:1:ffff::8.8.8.8', 'local-use NAT64'],
    // site-local (deprecated, still routable inside a site)
    ['fec0::1', 'site-local'],
    ['feff:ffff::1', 'site-local'],
    // 6to4 carries its IPv4 address in bits 16–47
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    // not addresses
    ['127.1', 'invalid'],
    ['0x7f.1', 'invalid'],
    ['example.com', 'invalid'],
  ])('%s is %s', (address, kind) => {
    expect(forbiddenAddressKind(address)).toBe(kind);
    expect(refusalOf(NO_EXEMPTIONS, address)).not.toBeNull();
  });

  it.each([
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '203.0.113.10',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(forbiddenAddressKind(address)).toBeNull();
    expect(refusalOf(NO_EXEMPTIONS, address)).toBeNull();
  });
});

describe('WEBHOOK_ALLOWED_HOSTS', () => {
  it('exempts hosts, host:port and ranges (and IPv4 they carry inside IPv6), nothing else', async () => {
    const policy = policyFor({
      WEBHOOK_ALLOWED_HOSTS: 'hooks.intranet.example, 10.20.0.0/16, 127.0.0.1:4000, [::1]:4001, fd00::/8',
    });
    expect(await webhookUrlRefusal(policy, 'https://hooks.intranet.example/x')).toBeNull();
    expect(await webhookUrlRefusal(policy, 'https://10.20.3.4/x')).toBeNull();
    expect(await webhookUrlRefusal(policy, 'https://10.21.3.4/x')).toMatch(/private/);
    expect(await webhookUrlRefusal(policy, 'http://127.0.0.1:4000/x')).toBeNull();
    expect(await webhookUrlRefusal(policy, 'http://127.0.0.1:4001/x')).toMatch(/loopback/);
    expect(await webhookUrlRefusal(policy, 'http://[::1]:4001/x')).toBeNull();
    expect(await webhookUrlRefusal(policy, 'http://[fd00:ec2::254]/x')).toBeNull();
    expect(refusalOf(policy, '::ffff:10.20.0.9')).toBeNull();
    expect(refusalOf(policy, '64:ff9b::a14:9')).toBeNull();
    expect(refusalOf(policy, '169.254.169.254')).toMatch(/metadata/);
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: 'bad host!' })).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
    expect(() => loadConfig({ WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/33' })).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
  });

  it('is the only way to a local receiver, in development too', async () => {
    const development = urlPolicyOf(loadConfig({ NODE_ENV: 'development' }));
    expect(await webhookUrlRefusal(development, 'http://127.0.0.1:3000/x')).toMatch(/^refused: .*loopback/);
    expect(await webhookUrlRefusal(development, 'http://localhost:3000/x')).toMatch(/^refused: /);
    expect(await webhookUrlRefusal(development, 'http://[::ffff:0:127.0.0.1]:3000/x')).toMatch(/loopback/);
    const allowed = urlPolicyOf(loadConfig({ NODE_ENV: 'development', WEBHOOK_ALLOWED_HOSTS: '127.0.0.1:4000' }));
    expect(await webhookUrlRefusal(allowed, 'http://127.0.0.1:4000/x')).toBeNull();
  });
});

describe('the delivery-time check, on the address the connection uses', () => {
  let server: Server;
  let port: number;
  let received = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      received += 1;
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (url: string, policy: UrlPolicy) =>
    sendWebhookRequest({ url, body: '{}', headers: { 'content-type': 'application/json' }, timeoutMs: 2_000, policy });

  it('refuses a name that resolves to loopback, and IPv6 spellings of it, without calling it', async () => {
    const development = urlPolicyOf(loadConfig({ NODE_ENV: 'development' }));
    for (const url of [
      `http://localhost:${port}/hook`,
      `http://127.0.0.1:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
    ]) {
      const attempt = await post(url, development);
      expect(attempt, url).toMatchObject({
        outcome: 'final',
        status: null,
        error: expect.stringMatching(/^refused: /),
      });
    }
    expect(received).toBe(0);
  });

  it('calls it once WEBHOOK_ALLOWED_HOSTS allows it', async () => {
    const attempt = await post(`http://localhost:${port}/hook`, policyFor({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }));
    expect(attempt).toMatchObject({ outcome: 'success', status: 204 });
    expect(received).toBe(1);
  });
});

describe('credentials in webhook URLs', () => {
  let api: TestApi;
  let admin: string;
  beforeAll(async () => {
    api = await startTestApi({ env: { NODE_ENV: 'development' } });
    admin = (await createTeam(api.deps)).admin.token;
  });
  afterAll(() => api?.close());

  it('refuses user:password@host with 400 on url, and writes nothing', async () => {
    const existing = await api.rest('POST', '/webhooks', {
      token: admin,
      body: { url: 'https://203.0.113.10/hook', events: '*' },
    });
    expect(existing.status).toBe(201);
    for (const url of ['https://user:pw@203.0.113.10/hook', 'https://token@203.0.113.10/hook']) {
      const created = await api.rest('POST', '/webhooks', { token: admin, body: { url, events: '*' } });
      expect(created.status, url).toBe(400);
      expect(created.body.errors, url).toEqual([
        expect.objectContaining({ path: ['url'], message: expect.stringMatching(/user name or password/) }),
      ]);
      expect(created.text).not.toContain(url);
      const updated = await api.rest('PUT', `/webhooks/${existing.body.id}`, { token: admin, body: { url } });
      expect(updated.status, url).toBe(400);
    }
    const rows = await api.deps.db.select({ url: webhooks.url }).from(webhooks);
    expect(rows).toEqual([{ url: 'https://203.0.113.10/hook' }]);
  });

  it('never shows the credentials of a URL saved before the rule: API, ping payload, audit trail', async () => {
    const [legacy] = await api.deps.db
      .insert(webhooks)
      .values({ url: 'https://erp:s3cr3t-pw@203.0.113.20/hook', events: ['*'], secret: 'whsec_legacy' })
      .returning();
    const id = legacy?.id as string;
    await api.deps.db.insert(auditLog).values({
      entityType: 'webhook',
      entityId: id,
      action: 'created',
      changes: { url: { before: null, after: 'https://erp:s3cr3t-pw@203.0.113.20/hook' } },
    });
    const read = await api.rest('GET', `/webhooks/${id}`, { token: admin });
    expect(read.body.url).toBe('https://***:***@203.0.113.20/hook');
    const list = await api.rest('GET', '/webhooks', { token: admin });
    const ping = await api.rest('POST', `/webhooks/${id}/ping`, { token: admin, body: {} });
    expect(ping.body.payload.data.url).toBe('https://***:***@203.0.113.20/hook');
    const moved = await api.rest('PUT', `/webhooks/${id}`, { token: admin, body: { url: 'https://203.0.113.21/h' } });
    expect(moved.status).toBe(200);
    const audit = await api.rest('GET', `/audit?entityId=${id}`, { token: admin });
    expect(audit.body.items.map((entry: { action: string }) => entry.action).sort()).toEqual(['created', 'updated']);
    for (const text of [read.text, list.text, ping.text, moved.text, audit.text]) expect(text).not.toContain('s3cr3t');
  });
});
