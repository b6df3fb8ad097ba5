import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The verification recipe of docs/webhooks.md: `verifyTouchWebhook(secret, rawBody, headers, now?)`. */
export type VerifyTouchWebhook = (
  secret: string,
  rawBody: string | Buffer,
  headers: IncomingHttpHeaders,
  now?: number,
) => { id: string; type: string; occurredAt: string; data: Record<string, unknown> };

/**
 * Loads the verification example exactly as docs/webhooks.md shows it (the first ```js block after
 * the `webhook-verification-recipe` marker), so the tests check the recipe integrators copy.
 */
export async function loadVerificationRecipe(): Promise<VerifyTouchWebhook> {
  const page = await readFile(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
  const marker = page.indexOf('<!-- webhook-verification-recipe -->');
  if (marker < 0) throw new Error('docs/webhooks.md has no webhook-verification-recipe marker');
  const block = /```js\n([\s\S]*?)```/.exec(page.slice(marker));
  if (!block?.[1]) throw new Error('docs/webhooks.md has no js block after the recipe marker');
  const file = join(await mkdtemp(join(tmpdir(), 'touch-recipe-')), 'verify.mjs');
  await writeFile(file, block[1]);
  const module = (await import(pathToFileURL(file).href)) as { verifyTouchWebhook?: VerifyTouchWebhook };
  if (!module.verifyTouchWebhook) throw new Error('the docs/webhooks.md recipe does not export verifyTouchWebhook');
  return module.verifyTouchWebhook;
}

/** One request as the receiver got it. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
  /** The status the receiver answered. */
  status: number;
  at: number;
}

export interface ReceiverAnswer {
  status?: number;
  delayMs?: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A real HTTP receiver on 127.0.0.1; each subscription in a test gets its own path. */
export interface WebhookReceiver {
  url: (path: string) => string;
  requests: ReceivedWebhook[];
  on: (path: string) => ReceivedWebhook[];
  /** Decides the answer per request and path (default 200 at once). */
  behave: (path: string, behaviour: (request: ReceivedWebhook, index: number) => ReceiverAnswer | undefined) => void;
  close: () => Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const behaviours = new Map<string, (request: ReceivedWebhook, index: number) => ReceiverAnswer | undefined>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const request: ReceivedWebhook = {
        path,
        headers: req.headers,
        raw,
        body: JSON.parse(raw.toString('utf8')),
        status: 200,
        at: Date.now(),
      };
      const index = requests.filter((r) => r.path === path).length;
      const answer = behaviours.get(path)?.(request, index) ?? {};
      request.status = answer.status ?? 200;
      requests.push(request);
      if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
      if (res.destroyed) return;
      res.writeHead(request.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    on: (path) => requests.filter((request) => request.path === path),
    behave: (path, behaviour) => {
      behaviours.set(path, behaviour);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
