import { writeFile } from 'node:fs/promises';
import { buildOpenApiDocument, openApiFileContent } from '@touch-crm/api';

/** `pnpm openapi`: writes the REST mirror's document into this package, which ships it to third parties. */
const OPENAPI_FILE = new URL('../openapi.json', import.meta.url);
await writeFile(OPENAPI_FILE, openApiFileContent(buildOpenApiDocument({ version: 'stable' })));
console.log(`wrote ${OPENAPI_FILE.pathname}`);
