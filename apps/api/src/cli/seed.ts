import { loadConfigOrExit } from '@touch-crm/config';
import { connectDatabase, resolveDatabase, runMigrations, runSeed } from '@touch-crm/db';
import { hashPassword } from '@touch-crm/services';

const config = loadConfigOrExit();
const database = await resolveDatabase({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  port: config.EMBEDDED_PG_PORT,
});
const handle = connectDatabase(database.url, { max: 2, applicationName: 'touch-crm-seed' });
try {
  await runMigrations(database.url);
  const result = await runSeed(handle.db, { hashPassword, adminPassword: config.ADMIN_PASSWORD });
  console.log(
    `Seed applied: ${result.newRoles.length} new roles, ${result.newPermissions.length} new permissions${
      result.adminCreated ? ', default admin created' : ''
    }.`,
  );
} finally {
  await handle.close();
  await database.stop();
}
