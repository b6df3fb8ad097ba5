import { writeFile } from 'node:fs/promises';
import { buildOpenApiDocument, OPENAPI_FILE, openApiFileContent } from '../src/index.ts';

/** `pnpm openapi`: writes the REST mirror's document, shipped with @touch-crm/client for third parties. */
await writeFile(OPENAPI_FILE, openApiFileContent(buildOpenApiDocument({ version: 'stable' })));
console.log(`wrote ${OPENAPI_FILE.pathname}`);
