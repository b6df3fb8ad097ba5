import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { loadConfigOrExit } from '@touch-crm/config';
import { customerExportInput } from '@touch-crm/contract';
import { schema } from '@touch-crm/db';
import { customerFilters, exportCustomers, jobCaller } from '@touch-crm/services';
import { and, count, eq, sql } from 'drizzle-orm';
import { createDeps } from './deps.ts';
import { createProgress } from './progress.ts';

const USAGE = `Usage: pnpm -s customers:export [--format csv|json] [--output FILE] [filters] > FILE

Every live customer matching the filters, straight from the database (no API), streamed through
a cursor: the same columns as GET /api/v1/customers/export (CSV with a header row, or NDJSON).
Use pnpm's -s (or --output): pnpm 10 prints its script banner on stdout.
Filters (as the customer list takes them):
  --status LEAD|PROSPECT|CUSTOMER|INACTIVE   --owner USERNAME        --owner-id ID
  --level-id ID                               --search TEXT           --sms-opt-in true|false
  --created-from ISO   --created-to ISO       --last-order-before ISO --last-order-after ISO
  --min-total-spent AMOUNT (minor units)`;

const args = process.argv.slice(2);
const camel = (flag: string) =>
  flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
const options: Record<string, string> = {};
for (let index = 0; index < args.length; index++) {
  const arg = args[index] as string;
  const next = args[index + 1];
  if (!arg.startsWith('--') || arg === '--help' || next === undefined || next.startsWith('--')) {
    console.error(arg === '--help' ? USAGE : `Missing value or unexpected argument at ${arg}\n\n${USAGE}`);
    process.exit(2);
  }
  options[camel(arg)] = next;
  index++;
}
const { output, owner, ...filterOptions } = options;
const filterKeys = new Set(Object.keys(customerExportInput.shape));
const unknown = Object.keys(filterOptions).filter((key) => !filterKeys.has(key));
if (unknown.length > 0) {
  console.error(`Unknown option ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
const parsed = customerExportInput.safeParse(filterOptions);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`--${issue.path.join('.')}: ${issue.message}`);
  process.exit(2);
}
const { format, ...filters } = parsed.data;

const config = loadConfigOrExit();
// Reading only: no job is ever sent.
const cli = await createDeps(config, { name: 'touch-crm-customers-export', pool: 2, jobs: 'none' });
const { deps } = cli;

const out: Writable = output ? createWriteStream(output) : process.stdout;
// `| head` closes the pipe early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const write = (chunk: string) =>
  new Promise<void>((resolve, reject) => {
    if (out.write(chunk)) resolve();
    else {
      out.once('drain', resolve);
      out.once('error', reject);
    }
  });

let exitCode = 0;
const started = performance.now();
try {
  if (owner) {
    const [user] = await deps.db
      .select({ id: schema.users.id })
      .from(schema.users)
      .where(eq(sql`lower(${schema.users.username})`, owner.toLowerCase()));
    if (!user) throw new Error(`no user "${owner}" (--owner)`);
    filters.ownerId = user.id;
  }
  const caller = jobCaller('cli:customers:export');
  const [{ total } = { total: 0 }] = await deps.db
    .select({ total: count() })
    .from(schema.customers)
    .where(and(customerFilters(caller.scope, filters)));
  // Data goes to stdout: a bar there would corrupt it, so progress shows on stderr unless stdout is the terminal.
  const progress = output || !process.stdout.isTTY ? createProgress('exporting') : null;
  let rows = 0;
  const end = format === 'json' ? '\n' : '\r\n';
  for await (const chunk of exportCustomers(deps, caller, { filters, format: format === 'json' ? 'ndjson' : 'csv' })) {
    await write(chunk);
    // One line per row (a CSV cell's own line breaks are rare enough for a progress figure).
    for (let at = chunk.indexOf(end); at >= 0; at = chunk.indexOf(end, at + end.length)) rows++;
    progress?.update(Math.min(format === 'json' ? rows : Math.max(0, rows - 1), total), total);
  }
  progress?.update(total, total);
  progress?.finish();
  if (output)
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  process.stderr.write(`customers:export: ${total} rows in ${seconds} s${output ? ` to ${output}` : ''}\n`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  exitCode = 1;
} finally {
  await cli.close();
}
process.exitCode = exitCode;
