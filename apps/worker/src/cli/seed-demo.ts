import { loadConfigOrExit } from '@touch-crm/config';
import { runSeed } from '@touch-crm/db';
import { DomainError, hashPassword, seedDemoData } from '@touch-crm/services';
import { createDeps } from './deps.ts';

/** `pnpm seed:demo [--customers N]`: a believable company to look at; refused in production. */
const args = process.argv.slice(2);
const customers = args.includes('--customers') ? Number(args[args.indexOf('--customers') + 1]) : 3000;
if (!Number.isInteger(customers) || customers < 10 || customers > 1_000_000) {
  console.error('--customers takes a whole number from 10 to 1000000');
  process.exit(2);
}
const config = loadConfigOrExit();
const cli = await createDeps(config, { name: 'touch-crm-seed-demo', pool: 4, jobs: 'send', migrations: 'apply' });
const { deps } = cli;
await runSeed(deps.db, { hashPassword, adminPassword: config.ADMIN_PASSWORD });

const started = performance.now();
const interactive = process.stdout.isTTY;
let exitCode = 0;
try {
  const result = await seedDemoData(deps, {
    customers,
    progress: (step) => {
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      if (interactive) process.stdout.write(`\r\x1b[K[${elapsed}s] ${step}…`);
      else console.log(`[${elapsed}s] ${step}`);
    },
  });
  if (interactive) process.stdout.write('\n');
  console.log(`\nDemo data ready: ${result.customers} customers, ${result.orders} orders, ${result.scored} scored.\n`);
  console.log('Sign in as:');
  for (const user of result.users) console.log(`  ${user.username.padEnd(14)} ${user.password}   (${user.role})`);
} catch (error) {
  if (interactive) process.stdout.write('\n');
  console.error(error instanceof DomainError ? error.message : error);
  exitCode = error instanceof DomainError ? 1 : 2;
} finally {
  await cli.close();
}
process.exit(exitCode);
