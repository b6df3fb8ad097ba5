import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake carrier received it. */
export interface CarrierRequest {
  /** Order of arrival, from 0. */
  index: number;
  path: string;
  idempotencyKey: string | undefined;
  to: string | undefined;
  body: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  /** The decoded body: JSON object, or form fields. */
  fields: Record<string, unknown>;
  at: number;
}

/** What the carrier answers to a request; undefined means "accept". */
export interface CarrierAnswer {
  status?: number;
  delayMs?: number;
  /** Answer only once this settles: a test holds the call in flight for as long as it needs. */
  until?: Promise<unknown>;
  body?: unknown;
  /** Hang up without answering (a network failure at the caller). */
  destroy?: boolean;
}

/**
 * A real HTTP server on 127.0.0.1 playing the SMS carrier, for the http and twilio providers.
 * It honours idempotency keys like a careful carrier: a key already accepted is answered with the
 * same id and not delivered again, so `deliveries` counts what phones would have received.
 */
export interface FakeCarrier {
  url: string;
  requests: CarrierRequest[];
  /** Accepted (2xx) requests per idempotency key: more than one means the key was retried after success. */
  accepted: Map<string, number>;
  /** Distinct messages delivered (by idempotency key), each at most once. */
  deliveries: Map<string, { id: string; to: string | undefined; body: string | undefined; at: number }>;
  /** Decides the answer per request (default: accept at once). */
  behave: (behaviour: (request: CarrierRequest) => CarrierAnswer | undefined) => void;
  /** Answers the next `count` requests with `status` (then accepts again). */
  failNext: (count: number, status?: number, body?: unknown) => void;
  close: () => Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startFakeCarrier(): Promise<FakeCarrier> {
  const requests: CarrierRequest[] = [];
  const accepted = new Map<string, number>();
  const deliveries: FakeCarrier['deliveries'] = new Map();
  let behaviour: (request: CarrierRequest) => CarrierAnswer | undefined = () => undefined;
  let failures: { count: number; status: number; body?: unknown } = { count: 0, status: 503 };
  let sequence = 0;

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    let fields: Record<string, unknown> = {};
    if (contentType?.includes('application/json')) fields = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    else fields = Object.fromEntries(new URLSearchParams(raw));
    const request: CarrierRequest = {
      index: requests.length,
      path: req.url ?? '/',
      idempotencyKey:
        (req.headers['idempotency-key'] as string | undefined) ?? (fields.idempotencyKey as string | undefined),
      to: (fields.to ?? fields.To) as string | undefined,
      body: (fields.body ?? fields.Body) as string | undefined,
      authorization: req.headers.authorization,
      contentType,
      fields,
      at: Date.now(),
    };
    requests.push(request);
    let answer = behaviour(request);
    if (!answer && failures.count > 0) {
      failures.count -= 1;
      answer = { status: failures.status, body: failures.body ?? { error: 'carrier says no' } };
    }
    if (answer?.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (answer?.until) await answer.until;
    if (answer?.destroy) {
      req.socket.destroy();
      return;
    }
    const status = answer?.status ?? 200;
    let body = answer?.body;
    if (status >= 200 && status < 300 && body === undefined) {
      const key = request.idempotencyKey ?? `no-key-${request.index}`;
      accepted.set(key, (accepted.get(key) ?? 0) + 1);
      let delivery = deliveries.get(key);
      if (!delivery) {
        delivery = { id: `carrier-${++sequence}`, to: request.to, body: request.body, at: Date.now() };
        deliveries.set(key, delivery);
      }
      body = request.path.includes('/Messages.json')
        ? { sid: `SM${delivery.id}`, status: 'queued' }
        : { id: delivery.id, status: 'accepted' };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted,
    deliveries,
    behave: (next) => {
      behaviour = next;
    },
    failNext: (count, status = 503, body) => {
      failures = { count, status, body };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every `intervalMs` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
