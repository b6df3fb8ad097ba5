import { loadConfigOrExit } from '@touch-crm/config';
import { connectDatabase } from '../client.ts';
import { resolveDatabase } from '../database-url.ts';
import { runMigrations } from '../migrate.ts';

const config = loadConfigOrExit();
const database = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  port: config.EMBEDDED_PG_PORT,
});
const handle = connectDatabase(database.url, { max: 1, applicationName: 'touch-crm-migrate' });
try {
  await runMigrations(database.url);
  console.log('Migrations applied.');
} finally {
  await handle.close();
  await database.stop();
}
