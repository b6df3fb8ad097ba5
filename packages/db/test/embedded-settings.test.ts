import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '@touch-crm/db';
import { freePort } from '@touch-crm/test-utils';
import postgres from 'postgres';
import { expect, it } from 'vitest';

// The bench starts its server with a larger max_wal_size (a 1 M-customer load checkpointed every 20 s).
it('starts the embedded PostgreSQL with the settings it is given', { timeout: 60_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'touch-crm-settings-'));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    ephemeral: true,
    settings: { max_wal_size: '8GB' },
  });
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ size: string }[]>`select current_setting('max_wal_size') as size`;
    expect(row?.size).toBe('8GB');
  } finally {
    await sql.end();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
