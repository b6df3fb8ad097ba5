import { readFile } from 'node:fs/promises';

/**
 * `node bench/profile-summary.ts FILE.cpuprofile [requests]`: the top self-time functions of a V8
 * CPU profile, and the inclusive time of each library on the stack (a sample counts once per
 * library however deep it recurses), per request when the number of requests served is given.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const LIBRARIES: [string, RegExp][] = [
  ['trpc-to-openapi (REST adapter)', /trpc-to-openapi/],
  ['@trpc/server', /@trpc\/server/],
  ['@hono/node-server (request/response conversion)', /@hono\/node-server/],
  ['hono (router, middleware)', /\/hono\/dist/],
  ['zod', /\/zod\//],
  ['drizzle-orm', /drizzle-orm/],
  ['postgres (postgres.js)', /\/postgres\/src|\/postgres\/cf|\/postgres\/cjs/],
  ['jose', /\/jose\//],
  ['pino (logging)', /\/pino/],
  ['prom-client (metrics)', /prom-client/],
  ['node:http / net (internal)', /^node:(_http|http|net|stream|internal\/streams)/],
  ['touch-crm code', /\/(apps|packages)\/[^/]+\/src\//],
];

const LOADING = 'module loading and compiling (start-up, not per request)';

const [file, requestsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [requests]');
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const requests = Number(requestsArg ?? 0);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
profile.samples.forEach((id, index) => {
  const ms = (profile.timeDeltas[index] ?? 0) / 1000;
  total += ms;
  const node = byId.get(id);
  if (!node) return;
  const { functionName, url, lineNumber } = node.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') idle += functionName === '(idle)' ? ms : 0;
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(apps|packages|bench)\//, '$1/')}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + ms);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at)?.callFrame.url ?? '';
    if (frame.startsWith('node:internal/modules/')) seen.add(LOADING);
    for (const [name, pattern] of LIBRARIES) if (pattern.test(frame)) seen.add(name);
  }
  // Loading modules happens at start-up, whichever library asked for them.
  if (seen.has(LOADING)) {
    seen.clear();
    seen.add(LOADING);
  }
  for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
});

const perRequest = (ms: number) => (requests > 0 ? ` ${((ms / requests) * 1000).toFixed(1).padStart(7)} µs/req` : '');
console.log(
  `profile ${file.replace(/^.*\//, '')}: ${(total / 1000).toFixed(1)} s sampled, ${(idle / 1000).toFixed(1)} s idle`,
);
console.log(`\ninclusive time by library${requests > 0 ? ` (${requests} requests)` : ''}`);
for (const [name, ms] of [...inclusive].sort((a, b) => b[1] - a[1]))
  console.log(
    `${ms.toFixed(0).padStart(8)} ms ${((ms / (total - idle)) * 100).toFixed(1).padStart(5)} %${name === LOADING ? ' '.repeat(15) : perRequest(ms)}  ${name}`,
  );
console.log('\ntop 40 functions by self time');
for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40))
  console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${name}`);
