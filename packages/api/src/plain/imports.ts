import { importCustomersQuery } from '@touch-crm/contract';
import { createCustomerImport, customerImportTemplate, type ServiceDeps, ValidationError } from '@touch-crm/services';
import { authorize } from '../authorize.ts';
import { EdgeError } from '../http-error.ts';
import { REST_PREFIX } from '../openapi-document.ts';
import { answering, type PlainRoute, parseQuery } from './route.ts';

/** Content types a CSV arrives as from curl, browsers and spreadsheet tools. */
const CSV_TYPES = new Set([
  'text/csv',
  'application/csv',
  'text/plain',
  'application/vnd.ms-excel',
  'application/octet-stream',
]);

/** The uploaded file: a `text/csv` body, or the `file` field of a multipart/form-data body. */
async function readUpload(request: Request): Promise<{ bytes: Uint8Array; filename: string | null }> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'multipart/form-data') {
    const file = (await request.formData()).get('file');
    if (!(file instanceof File))
      throw ValidationError.field('file', 'the multipart body needs a `file` field with the CSV');
    return { bytes: new Uint8Array(await file.arrayBuffer()), filename: file.name || null };
  }
  if (!CSV_TYPES.has(type))
    throw new EdgeError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the file as text/csv, or as multipart/form-data with a `file` field',
    );
  return { bytes: new Uint8Array(await request.arrayBuffer()), filename: null };
}

/**
 * POST /customers/import (202 with the import; the `customers.import` job does the rows; the
 * one route with IMPORT_MAX_BYTES as its body limit) and GET /customers/import/template.
 */
export function importRoutes(deps: ServiceDeps): PlainRoute[] {
  // Importers who may also read customers (their own or all), as the import routes have always required.
  const access = { permissions: ['customers:import', 'customers:read'] } as const;
  return [
    {
      method: 'POST',
      path: '/customers/import',
      largeBody: true,
      handle: answering(async (request, ctx) => {
        const caller = await authorize(deps, ctx.credentials, access);
        const query = parseQuery(importCustomersQuery, request);
        const upload = await readUpload(request);
        const accepted = await createCustomerImport(deps, caller, {
          bytes: upload.bytes,
          filename: query.filename ?? upload.filename,
          dryRun: query.dryRun,
        });
        return Response.json(accepted, {
          status: 202,
          headers: { Location: `${REST_PREFIX}/imports/${accepted.id}` },
        });
      }),
    },
    {
      method: 'GET',
      path: '/customers/import/template',
      handle: answering(async (_request, ctx) => {
        const { user } = await authorize(deps, ctx.credentials, access);
        return new Response(customerImportTemplate(user.username), {
          headers: {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': 'attachment; filename="customers-import-template.csv"',
          },
        });
      }),
    },
  ];
}
