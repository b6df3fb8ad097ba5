import { importCustomersQuery } from '@touch-crm/contract';
import {
  createCustomerImport,
  customerImportTemplate,
  ImportTooLargeError,
  type ServiceDeps,
  ValidationError,
} from '@touch-crm/services';
import type { Hono, Context as HonoContext } from 'hono';
import type { Logger } from 'pino';
import { authorize, errorResponse, parseQuery } from './plain-routes.ts';

/** The one route with a larger body limit (IMPORT_MAX_BYTES instead of BODY_LIMIT_BYTES). */
export const IMPORT_PATH = '/api/v1/customers/import';

/** Content types a CSV arrives as from curl, browsers and spreadsheet tools. */
const CSV_TYPES = new Set([
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.ms-excel',
  'application/octet-stream',
]);

class UnsupportedMediaType extends Error {}

/** The uploaded file: a `text/csv` body, or the `file` field of a multipart/form-data body. */
async function readUpload(c: HonoContext): Promise<{ bytes: Uint8Array; filename: string | null }> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'multipart/form-data') {
    const form = await c.req.parseBody();
    const file = form.file;
    if (!(file instanceof File))
      throw ValidationError.field('file', 'the multipart body needs a `file` field with the CSV');
    return { bytes: new Uint8Array(await file.arrayBuffer()), filename: file.name || null };
  }
  if (!CSV_TYPES.has(type)) throw new UnsupportedMediaType();
  return { bytes: new Uint8Array(await c.req.arrayBuffer()), filename: null };
}

/**
 * POST /api/v1/customers/import (202 with the import; the `customers.import` job does the rows)
 * and GET /api/v1/customers/import/template. Mounted with the other plain routes, before the REST
 * mirror, so `/customers/import` is not read as `/customers/{id}`.
 */
export function mountImportRoutes<E extends object>(
  app: Hono<E & { Variables: { requestId: string } }>,
  deps: ServiceDeps,
  log: Logger,
) {
  app.post(IMPORT_PATH, async (c) => {
    try {
      const { user } = await authorize(deps, c, 'customers:import', 'customers:read');
      const query = parseQuery(importCustomersQuery, c);
      const upload = await readUpload(c);
      const accepted = await createCustomerImport(deps, user, {
        bytes: upload.bytes,
        filename: query.filename ?? upload.filename,
        dryRun: query.dryRun,
      });
      c.header('Location', `/api/v1/imports/${accepted.id}`);
      return c.json(accepted, 202);
    } catch (error) {
      if (error instanceof UnsupportedMediaType)
        return c.json(
          {
            message: 'Send the file as text/csv, or as multipart/form-data with a `file` field',
            code: 'UNSUPPORTED_MEDIA_TYPE',
            data: { requestId: c.get('requestId' as never) as string },
          },
          415,
        );
      if (error instanceof ImportTooLargeError) {
        const issues = error.issues;
        return c.json(
          {
            message: issues[0]?.message ?? 'The file is too large',
            code: 'PAYLOAD_TOO_LARGE',
            data: { requestId: c.get('requestId' as never) as string, issues },
            issues,
          },
          413,
        );
      }
      return errorResponse(c, error, log);
    }
  });

  app.get(`${IMPORT_PATH}/template`, async (c) => {
    try {
      const { user } = await authorize(deps, c, 'customers:import', 'customers:read');
      return c.body(customerImportTemplate(user.username), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="customers-import-template.csv"',
      });
    } catch (error) {
      return errorResponse(c, error, log);
    }
  });
}
