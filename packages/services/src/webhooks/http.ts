import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import {
  bareHost,
  guardedLookup,
  hostAllowed,
  portOf,
  RefusedAddressError,
  refusalOf,
  type UrlPolicy,
} from './url-safety.ts';

/** The start of a receiver's answer kept (and read): enough to see an error message. */
export const RESPONSE_BODY_LIMIT = 4096;

/**
 * What one request came to: accepted (2xx); worth retrying (timeout, connection error, 5xx, 408,
 * 429); or final (any other 4xx, a redirect, which is never followed, or a refused address).
 */
export interface WebhookAttempt {
  outcome: 'success' | 'retry' | 'final';
  status: number | null;
  body: string | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  policy: UrlPolicy;
}

/** Sends one webhook request; never throws. */
export type WebhookSender = (request: WebhookRequest) => Promise<WebhookAttempt>;

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 }),
};

function outcomeOf(status: number): WebhookAttempt['outcome'] {
  if (status >= 200 && status < 300) return 'success';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  return 'final';
}

function errorOf(status: number, body: string, location: string | undefined): string | null {
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400)
    return `HTTP ${status}: redirect not followed${location ? ` (Location: ${location.slice(0, 200)})` : ''}`;
  const text = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return `HTTP ${status}${text ? `: ${text}` : ''}`;
}

/**
 * POST over node:http(s): no redirects (node:http never follows them), the body read up to
 * RESPONSE_BODY_LIMIT, one deadline for connect, send and answer, and every address the
 * connection resolves to checked against the policy.
 */
export const sendWebhookRequest: WebhookSender = (request) => {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let target: URL;
  try {
    target = new URL(request.url);
  } catch {
    return Promise.resolve({ outcome: 'final', status: null, body: null, error: 'invalid URL', durationMs: 0 });
  }
  const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
  if (!client)
    return Promise.resolve({ outcome: 'final', status: null, body: null, error: 'not an http(s) URL', durationMs: 0 });
  const host = bareHost(target.hostname);
  const allowedByName = hostAllowed(request.policy, host, portOf(target));
  if (!allowedByName && isIP(host)) {
    const refusal = refusalOf(request.policy, host);
    if (refusal)
      return Promise.resolve({
        outcome: 'final',
        status: null,
        body: null,
        error: `refused: ${refusal}`,
        durationMs: 0,
      });
  }

  return new Promise<WebhookAttempt>((resolve) => {
    let settled = false;
    let status: number | null = null;
    let location: string | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Omit<WebhookAttempt, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: elapsed() });
    };
    const answered = () => {
      // PostgreSQL text cannot hold NUL: a binary answer is kept without it.
      const body = Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '');
      const code = status as number;
      finish({ outcome: outcomeOf(code), status: code, body, error: errorOf(code, body, location) });
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(Buffer.byteLength(request.body)) },
        agent: agents[target.protocol as 'http:' | 'https:'],
        lookup: guardedLookup(request.policy, allowedByName) as never,
      },
      (res) => {
        status = res.statusCode ?? 0;
        location = res.headers.location;
        res.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - size));
          size += chunk.length;
          // Enough read: the rest of a large answer is not waited for.
          if (size >= RESPONSE_BODY_LIMIT) {
            answered();
            res.destroy();
          }
        });
        res.on('end', answered);
        res.on('error', answered);
        res.on('close', answered);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof RefusedAddressError || error.cause instanceof RefusedAddressError) {
        const refused = error instanceof RefusedAddressError ? error : (error.cause as RefusedAddressError);
        return finish({ outcome: 'final', status: null, body: null, error: refused.message });
      }
      if (status !== null) return answered();
      finish({
        outcome: 'retry',
        status: null,
        body: null,
        error: `connection failed: ${error.code ?? error.message}`,
      });
    });
    const timer = setTimeout(() => {
      // An answer whose status arrived in time counts, whatever its body is still doing.
      if (status !== null) answered();
      else finish({ outcome: 'retry', status: null, body: null, error: `timed out after ${request.timeoutMs} ms` });
      req.destroy();
    }, request.timeoutMs);
    req.end(request.body);
  });
};
