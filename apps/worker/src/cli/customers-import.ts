import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfigOrExit } from '@touch-crm/config';
import { DEFAULT_ADMIN_USERNAME, schema } from '@touch-crm/db';
import {
  createCustomerImport,
  DomainError,
  getImportStatus,
  jobActor,
  loadUserCaller,
  runCustomerImport,
  ValidationError,
} from '@touch-crm/services';
import { and, eq, sql } from 'drizzle-orm';
import { createDeps } from './deps.ts';
import { createProgress } from './progress.ts';

const USAGE = `Usage: pnpm customers:import FILE [--dry-run] [--owner USERNAME] [--json]

Imports a CSV of customers straight into the database (no API), with the same rules as
POST /api/v1/customers/import: rows matched by phone are updated, others created.
  --dry-run          validate every row, write no customer
  --owner USERNAME   the import is recorded as this user's, and rows without ownerUsername
                     belong to them (default: ${DEFAULT_ADMIN_USERNAME})
  --json             print the final status as JSON on stdout
Exit status: 0 every row imported, 3 some rows failed (listed), 1 the file or the import failed, 2 usage.`;

const args = process.argv.slice(2);
const value = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const file = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--owner');
const known = new Set(['--dry-run', '--owner', '--json', '--help']);
const unknown = args.filter((arg) => arg.startsWith('--') && !known.has(arg));
if (!file || args.includes('--help') || unknown.length > 0 || (args.includes('--owner') && !value('--owner'))) {
  if (unknown.length > 0) console.error(`Unknown option ${unknown.join(', ')}\n`);
  console.error(USAGE);
  process.exit(2);
}
const dryRun = args.includes('--dry-run');
const json = args.includes('--json');

let bytes: Uint8Array;
try {
  bytes = new Uint8Array(await readFile(file));
} catch (error) {
  console.error(`Cannot read ${file}: ${(error as Error).message}`);
  process.exit(1);
}

const config = loadConfigOrExit();
// Welcome messages for imported customers queue their delivery jobs like any other change.
const cli = await createDeps(config, {
  name: 'touch-crm-customers-import',
  pool: 4,
  jobs: 'send',
  migrations: 'require',
}).catch((error: unknown) => {
  console.error(error instanceof DomainError ? error.message : error);
  process.exit(1);
});
const { deps } = cli;

let exitCode = 0;
try {
  const username = value('--owner') ?? DEFAULT_ADMIN_USERNAME;
  const [owner] = await deps.db
    .select({ id: schema.users.id })
    .from(schema.users)
    .where(and(eq(sql`lower(${schema.users.username})`, username.toLowerCase()), eq(schema.users.isActive, true)));
  if (!owner) throw new DomainError('BAD_REQUEST', `no active user "${username}" (--owner)`);
  const caller = await loadUserCaller(deps, owner.id);

  const started = performance.now();
  const accepted = await createCustomerImport(deps, caller, {
    bytes,
    filename: basename(file),
    dryRun,
    enqueue: false,
  });
  const mapped = accepted.columns.map((column) => (column.field ? column.field : `${column.header} (ignored)`));
  console.error(
    `${dryRun ? 'Dry run of' : 'Importing'} ${basename(file)}: ${accepted.rowsTotal} rows; columns ${mapped.join(', ')}`,
  );
  const progress = createProgress(dryRun ? 'validating' : 'importing');
  const result = await runCustomerImport(deps, accepted.id, {
    operator: { actor: jobActor('cli:customers:import') },
    onProgress: (p) =>
      progress.update(p.rowsRead, p.rowsTotal, `· ${p.created} created, ${p.updated} updated, ${p.failed} failed`),
  });
  progress.finish();
  const durationMs = Math.round(performance.now() - started);
  const status = await getImportStatus(deps, accepted.id, { page: 1, pageSize: 50 });
  if (json) console.log(JSON.stringify({ ...status, durationMs }));
  else {
    const would = dryRun ? ' (dry run: nothing written; what a real run would do)' : '';
    console.log(
      `${status.status}: ${status.rowsRead} rows read, ${status.created} created, ${status.updated} updated, ` +
        `${status.unchanged} unchanged, ${status.failed} failed in ${(durationMs / 1000).toFixed(1)} s${would}`,
    );
    if (status.error) console.log(`Stopped: ${status.error}`);
    for (const error of status.errors.items)
      console.log(`  row ${error.rowNumber}${error.field ? `, ${error.field}` : ''}: ${error.message}`);
    if (status.errors.total > status.errors.items.length)
      console.log(
        `  … ${status.errors.total - status.errors.items.length} more: GET /api/v1/imports/${status.id}?page=2&pageSize=50`,
      );
    console.log(`Import id: ${status.id}`);
  }
  exitCode = result.status === 'FAILED' ? 1 : status.failed > 0 ? 3 : 0;
} catch (error) {
  if (error instanceof ValidationError)
    console.error(
      `The file was refused:\n${error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  else console.error(error instanceof DomainError ? error.message : error);
  exitCode = 1;
} finally {
  await cli.close();
}
process.exit(exitCode);
