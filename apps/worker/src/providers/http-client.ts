import http from 'node:http';
import https from 'node:https';
import {
  cleanCarrierText,
  INVALID_PROVIDER_MESSAGE_ID,
  providerMessageIdOf,
  type SendOutcome,
} from '@touch-crm/services';

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * A small keep-alive HTTP client for carrier calls: one pooled agent per protocol (at most
 * `maxSockets` connections), and a hard time limit per request after which the socket is
 * destroyed, so a hanging carrier can never hold a message past its lease.
 */
export class HttpClient {
  readonly #timeoutMs: number;
  readonly #agents: { http: http.Agent; https: https.Agent };

  constructor(options: { timeoutMs: number; maxSockets: number }) {
    this.#timeoutMs = options.timeoutMs;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
    this.#agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  }

  post(url: URL, headers: Record<string, string>, body: string): Promise<HttpResponse> {
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: secure ? this.#agents.https : this.#agents.http,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
  }
}

/** A carrier's text as kept in a reason: one line, cleaned of what PostgreSQL cannot store, cut at `max`. */
export const snippet = (text: string, max = 300) => cleanCarrierText(text.replace(/\s+/g, ' ').trim(), max);

/**
 * Carrier answers by status: 2xx accepted; 408, 425, 429 and 5xx worth retrying; any other 4xx
 * final (the carrier refused this message: bad number, blocked content, bad credentials). All of
 * it is untrusted: the error text is cleaned and cut, and a 2xx whose message id is not one we can
 * keep (providerMessageIdOf) is a final failure, not a retry that would send the SMS again.
 */
export function outcomeOf(
  response: HttpResponse,
  providerMessageId: (body: unknown) => unknown,
  describeError: (body: unknown) => string | undefined = () => undefined,
): SendOutcome {
  let parsed: unknown;
  try {
    parsed = response.body ? JSON.parse(response.body) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.status >= 200 && response.status < 300) {
    const id = providerMessageIdOf(providerMessageId(parsed));
    if (id === false) return { status: 'failed', error: `HTTP ${response.status}: ${INVALID_PROVIDER_MESSAGE_ID}` };
    return { status: 'sent', providerMessageId: id };
  }
  const described = describeError(parsed);
  const reason = `HTTP ${response.status}: ${(described === undefined ? '' : snippet(described, 400)) || snippet(response.body) || 'no body'}`;
  const retry = response.status >= 500 || [408, 425, 429].includes(response.status);
  if (retry) return { status: 'retry', error: reason };
  return { status: 'failed', error: reason };
}

/** A network error or timeout: the carrier may or may not have the message; retry with the same key. */
export const networkFailure = (error: unknown): SendOutcome => ({
  status: 'retry',
  error: `carrier unreachable: ${snippet(error instanceof Error ? error.message : String(error))}`,
});
