/**
 * Proves the published client works for a third party: builds and packs it, checks the packed
 * manifest, installs the tarball with only its peers into a fresh project outside the workspace,
 * and for the oldest tRPC 11 its peer range admits and the version the workspace pins: typechecks
 * consumer/good.ts (must pass) and consumer/bad.ts (must fail on exactly the lines marked
 * `// error:`) with TypeScript 7 and 5.9, strict and without skipLibCheck, then runs good.ts
 * against a live API with an embedded PostgreSQL. With the oldest tRPC it also typechecks the
 * README's TanStack React Query example. Needs pnpm's store or the npm registry.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const packageDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(packageDir, '../..');
const consumerDir = path.join(packageDir, 'consumer');
const started = performance.now();

function step(message: string) {
  console.log(`==> ${message} (${((performance.now() - started) / 1000).toFixed(1)}s)`);
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}${result.error ?? ''}` };
}

function mustRun(command: string, args: string[], cwd: string) {
  const result = run(command, args, cwd);
  if (!result.ok) throw new Error(`${command} ${args.join(' ')} failed:\n${result.output}`);
  return result.output;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** What the README's React example needs besides `@trpc/tanstack-react-query` of the tested tRPC. */
const reactPackages = ['@tanstack/react-query@5.108.4', 'react@19.3.1', '@types/react@19.3.3'];

/** The consumer's TypeScript compilers: the repo's (7) and the widely used 5.9. */
function compilers(project: string) {
  return [
    { name: 'TypeScript 7', args: [path.join(project, 'node_modules/typescript/bin/tsc')] },
    { name: 'TypeScript 5.9', args: [path.join(project, 'node_modules/typescript5/bin/tsc')] },
  ];
}

function typecheck(project: string, label: string) {
  for (const compiler of compilers(project)) {
    const good = run(process.execPath, [...compiler.args, '-p', 'tsconfig.json', '--pretty', 'false'], project);
    if (!good.ok) throw new Error(`${compiler.name}: good.ts does not typecheck:\n${good.output}`);

    const expected = readFileSync(path.join(project, 'bad.ts'), 'utf8')
      .split('\n')
      .flatMap((line, index) => (/;\s*\/\/ error:/.test(line) ? [index + 1] : []));
    const bad = run(process.execPath, [...compiler.args, '-p', 'tsconfig.bad.json', '--pretty', 'false'], project);
    const reported = new Set(
      [...bad.output.matchAll(/^bad\.ts\((\d+),\d+\): error/gm)].map((match) => Number(match[1])),
    );
    const missed = expected.filter((line) => !reported.has(line));
    const unexpected = [...reported].filter((line) => !expected.includes(line));
    if (bad.ok || missed.length || unexpected.length)
      throw new Error(
        `${compiler.name}: bad.ts must fail on lines ${expected.join(', ')}; ` +
          `missed ${missed.join(', ') || 'none'}, unexpected ${unexpected.join(', ') || 'none'}:\n${bad.output}`,
      );
    console.log(`    ${label}, ${compiler.name}: good.ts passes, bad.ts fails on all ${expected.length} marked lines`);
  }
}

/** The README's ```tsx block must typecheck as a consumer would write it, strictly. */
function typecheckReactExample(project: string, trpc: string) {
  const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8');
  const example = /```tsx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example) throw new Error('README.md has no tsx example');
  writeFileSync(path.join(project, 'react.tsx'), example);
  mustRun(
    'pnpm',
    ['add', '--ignore-workspace', '--prefer-offline', `@trpc/tanstack-react-query@${trpc}`, ...reactPackages],
    project,
  );
  for (const compiler of compilers(project)) {
    const result = run(process.execPath, [...compiler.args, '-p', 'tsconfig.react.json', '--pretty', 'false'], project);
    if (!result.ok)
      throw new Error(`${compiler.name}: the README's React example does not typecheck:\n${result.output}`);
    console.log(`    tRPC ${trpc}, ${compiler.name}: the README's React example typechecks`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** `node apps/api/src/main.ts` with its own embedded PostgreSQL; resolves once /readyz answers. */
async function startServer(dataDir: string) {
  const [port, pgPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    LOG_LEVEL: 'warn',
  };
  // The seed's default admin password and the embedded database, whatever the caller's shell says.
  delete env.DATABASE_URL;
  delete env.ADMIN_PASSWORD;
  const child = spawn(process.execPath, ['apps/api/src/main.ts'], { cwd: repoRoot, env });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  // It starts while the installs and typechecks block this process: ask at least once past the deadline.
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, child, output: () => output };
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGTERM');
  throw new Error(`the API was not ready within 90s:\n${output}`);
}

async function stopServer(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timeout = setTimeout(() => console.error('the API did not stop within 30s'), 30_000);
  await exited;
  clearTimeout(timeout);
}

/** What a registry user reads: metadata, peers only, nothing of the workspace's development. */
function checkManifest(manifest: Record<string, unknown>) {
  const missing = ['description', 'keywords', 'license', 'repository', 'homepage', 'bugs', 'engines'].filter(
    (field) => manifest[field] === undefined,
  );
  if (missing.length) throw new Error(`the packed package.json lacks ${missing.join(', ')}`);
  for (const field of ['dependencies', 'devDependencies'])
    if (manifest[field] !== undefined) throw new Error(`the packed package.json has ${field}`);
}

/** `^11.4.0` → `11.4.0`: the oldest tRPC the client claims to work with, tested below. */
function oldestPeer(manifest: { peerDependencies: Record<string, string> }): string {
  const [client, server] = [manifest.peerDependencies['@trpc/client'], manifest.peerDependencies['@trpc/server']];
  const oldest = /^\^(\d+\.\d+\.\d+)$/.exec(client ?? '')?.[1];
  if (!oldest || client !== server) throw new Error(`expected equal ^x.y.z peer ranges, got ${client} and ${server}`);
  return oldest;
}

const workDir = mkdtempSync(path.join(tmpdir(), 'touch-client-'));
let serverStarting: ReturnType<typeof startServer> | undefined;
try {
  step('build and pack (prepack runs scripts/build.ts)');
  const packed = mustRun('pnpm', ['pack', '--pack-destination', workDir], packageDir);
  console.log(`    ${packed.split('\n').find((line) => line.includes('built to dist')) ?? packed}`);
  const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('pnpm pack wrote no tarball');
  mustRun('tar', ['-xzf', tarball, 'package/package.json'], workDir);
  const manifest = readJson(path.join(workDir, 'package/package.json'));
  checkManifest(manifest);

  // Starts in the background while the installs and typechecks run; a failure is thrown where awaited.
  serverStarting = startServer(path.join(workDir, 'data'));
  serverStarting.catch(() => undefined);

  const project = path.join(workDir, 'consumer');
  mkdirSync(project);
  for (const file of readdirSync(consumerDir)) copyFileSync(path.join(consumerDir, file), path.join(project, file));
  writeFileSync(path.join(project, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  const workspace = readJson(path.join(repoRoot, 'package.json')).devDependencies;
  const oldest = oldestPeer(manifest);
  for (const [index, trpc] of [workspace['@trpc/client'], oldest].entries()) {
    const label = `tRPC ${trpc}`;
    step(`install ${index === 0 ? `${tarball} and ` : ''}@trpc/client and @trpc/server ${trpc} in ${project}`);
    const compilersToAdd = [`typescript@${workspace.typescript}`, `typescript5@${workspace.typescript5}`];
    mustRun(
      'pnpm',
      [
        'add',
        '--ignore-workspace',
        '--prefer-offline',
        ...(index === 0 ? [`../${tarball}`, ...compilersToAdd] : []),
        `@trpc/client@${trpc}`,
        `@trpc/server@${trpc}`,
      ],
      project,
    );
    const installed = readdirSync(path.join(project, 'node_modules')).filter((name) => !name.startsWith('.'));
    console.log(`    node_modules: ${installed.join(', ')}`);

    step(`typecheck the consumer programs with ${label}`);
    typecheck(project, label);

    step(`run good.ts with ${label}`);
    const server = await serverStarting;
    const output = mustRun(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const { run } = await import("./good.ts"); console.log((await run(process.argv[1])).join("; "));',
        server.url,
      ],
      project,
    );
    console.log(`    ${output.trim()}`);
  }

  // @trpc/tanstack-react-query requires its own exact tRPC version: checked with one, the oldest.
  step(`typecheck the README's TanStack React Query example with tRPC ${oldest}`);
  typecheckReactExample(project, oldest);
} finally {
  const server = await serverStarting?.catch(() => undefined);
  if (server) {
    step('stop the API');
    await stopServer(server.child);
  }
  rmSync(workDir, { recursive: true, force: true });
}
step('the packed client works for a consumer');
