import fc from 'fast-check';
import { findLeaks, type Leak } from './leaks.ts';
import { type OpenApiDocument, operationsOf, schemaResolver } from './operations.ts';
import { type Actors, type FuzzRequest, requestsFor } from './requests.ts';

export interface FuzzOptions {
  /** The server's origin, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  document: OpenApiDocument;
  /** tRPC procedure paths that exist (`customers.list`). */
  procedures: ReadonlySet<string>;
  actors: Actors;
  ids: Readonly<Record<string, readonly string[]>>;
  examples?: Readonly<Record<string, readonly unknown[]>>;
  /** Values that must never appear in a response. */
  secrets: readonly string[];
  seed: number;
  requests: number;
  concurrency?: number;
  timeoutMs?: number;
}

export interface Finding {
  index: number;
  request: FuzzRequest;
  status: number | 'no answer';
  excerpt: string;
  leaks?: Leak[];
}

export interface FuzzReport {
  seed: number;
  requests: number;
  durationMs: number;
  /** Per operation: requests sent and answers by status class (2xx, 4xx, …). */
  byOperation: Record<string, Record<string, number>>;
  serverErrors: Finding[];
  leaks: Finding[];
}

/** Valid-looking requests reach deep code; a few hostile parts, or many, test the edges. */
const MODES = [
  { weight: 3, hostileRate: 0, minimal: true },
  { weight: 2, hostileRate: 0 },
  { weight: 4, hostileRate: 0, single: true },
  { weight: 2, hostileRate: 0.05 },
  { weight: 1, hostileRate: 0.3 },
];

/** Requests are generated a batch at a time, so ids created by one batch are used by the next. */
const BATCH = 250;

/**
 * The same requests for the same seed, document and ids. (Rows get fresh ids on every run, so
 * a seed reproduces the shapes of a run's requests, and the ids of its fixtures.)
 */
export function generateRequests(options: FuzzOptions, batch = 0, count = options.requests): FuzzRequest[] {
  const base = { resolve: schemaResolver(options.document), ids: options.ids, examples: options.examples ?? {} };
  const operations = operationsOf(options.document, options.procedures);
  const arbitraries = operations.flatMap((operation) =>
    MODES.map(({ weight, ...mode }) => ({
      weight,
      arbitrary: requestsFor(operation, { ...base, ...mode }, options.actors),
    })),
  );
  return fc.sample(fc.oneof(...arbitraries), { seed: options.seed + batch, numRuns: count });
}

/** The kind of row a successful create returns (`POST /customers` → customers), for the id pool. */
function createdKind(request: FuzzRequest, status: number | 'no answer'): string | undefined {
  if (status !== 200 && status !== 201) return undefined;
  const match = /^(\w+)-(create|register)$/.exec(request.operationId);
  if (!match) return undefined;
  return match[2] === 'register' ? 'users' : match[1];
}

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/** The request as a client sees it, for telling echoed input from a leak. */
function requestText(request: FuzzRequest): string {
  const body = request.body ?? '';
  let parsed = '';
  try {
    parsed = JSON.stringify(JSON.parse(body));
  } catch {}
  return [decoded(request.url), body, parsed].join('\n');
}

/**
 * Sends one request. A keep-alive socket the server closed after its previous answer (as it does
 * after a 413 or 431) can fail the next request before it is sent; that one is retried once.
 */
async function send(
  options: FuzzOptions,
  request: FuzzRequest,
  retried = false,
): Promise<{ status: number | 'no answer'; text: string }> {
  try {
    const response = await fetch(`${options.baseUrl}${request.url}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    const cause = String((error as Error).cause ?? error);
    if (!retried && /other side closed|ECONNRESET|EPIPE/.test(cause)) return send(options, request, true);
    return { status: 'no answer', text: cause };
  }
}

/** Sends the generated requests (a few at a time) and collects 5xx answers and leaks. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const ids: Record<string, string[]> = Object.fromEntries(
    Object.entries(options.ids).map(([kind, list]) => [kind, [...list]]),
  );
  const started = performance.now();
  const report: FuzzReport = {
    seed: options.seed,
    requests: options.requests,
    durationMs: 0,
    byOperation: {},
    serverErrors: [],
    leaks: [],
  };
  let requests: FuzzRequest[] = [];
  let next = 0;
  const worker = async (offset: number) => {
    while (next < requests.length) {
      const index = offset + next;
      const request = requests[next++] as FuzzRequest;
      const { status, text } = await send(options, request);
      const kind = createdKind(request, status);
      const id = kind ? /"id":"([0-9a-f-]{36})"/.exec(text)?.[1] : undefined;
      if (kind && id) ids[kind] = [...(ids[kind] ?? []), id];
      const counts = report.byOperation[request.operationId] ?? { total: 0 };
      report.byOperation[request.operationId] = counts;
      const statusClass = typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
      counts.total = (counts.total ?? 0) + 1;
      counts[statusClass] = (counts[statusClass] ?? 0) + 1;
      const excerpt = text.slice(0, 300);
      if (status === 'no answer' || status >= 500) report.serverErrors.push({ index, request, status, excerpt });
      const leaks = findLeaks(text, requestText(request), options.secrets);
      if (leaks.length) report.leaks.push({ index, request, status, excerpt, leaks });
    }
  };
  for (let offset = 0, batch = 0; offset < options.requests; offset += BATCH, batch++) {
    requests = generateRequests({ ...options, ids }, batch, Math.min(BATCH, options.requests - offset));
    next = 0;
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, () => worker(offset)));
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

const shorten = (text: string, max = 200) =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;

function describeFinding(finding: Finding): string {
  const { request } = finding;
  const lines = [
    `  #${finding.index} ${request.role} ${request.transport} ${request.method} ${shorten(request.url)} → ${finding.status}`,
  ];
  if (request.body !== undefined) lines.push(`    body: ${shorten(JSON.stringify(request.body))}`);
  if (finding.leaks) lines.push(`    leaks: ${finding.leaks.map((leak) => `${leak.kind} (${leak.match})`).join(', ')}`);
  lines.push(`    answer: ${shorten(finding.excerpt)}`);
  return lines.join('\n');
}

/** A plain-text report: totals, a table per operation, then each finding with its request. */
export function formatReport(report: FuzzReport, options: { limit?: number } = {}): string {
  const limit = options.limit ?? 25;
  const classes = ['2xx', '3xx', '4xx', '5xx', 'no answer'];
  const rows = Object.entries(report.byOperation)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([operation, counts]) =>
        `  ${operation.padEnd(32)} ${String(counts.total).padStart(6)} ${classes.map((c) => String(counts[c] ?? 0).padStart(6)).join(' ')}`,
    );
  return [
    `fuzz: ${report.requests} requests in ${(report.durationMs / 1000).toFixed(1)} s, seed ${report.seed}`,
    `  5xx or no answer: ${report.serverErrors.length}   leaks: ${report.leaks.length}   operations: ${rows.length}`,
    '',
    `  ${'operation'.padEnd(32)} ${'total'.padStart(6)} ${classes.map((c) => c.padStart(6)).join(' ')}`,
    ...rows,
    ...(report.serverErrors.length
      ? ['', '5xx or no answer:', ...report.serverErrors.slice(0, limit).map(describeFinding)]
      : []),
    ...(report.leaks.length ? ['', 'leaks:', ...report.leaks.slice(0, limit).map(describeFinding)] : []),
  ].join('\n');
}
