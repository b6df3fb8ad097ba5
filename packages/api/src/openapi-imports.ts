import { importAcceptedSchema, importCustomersQuery } from '@touch-crm/contract';
import { CUSTOMER_IMPORT_COLUMN_HELP, CUSTOMER_IMPORT_IGNORED_COLUMNS } from '@touch-crm/services';
import { z } from 'zod';
import { errorReasonsOf, errorResponsesOf, PROTECTED_SECURITY } from './openapi-meta.ts';
import { ERROR_REASONS_EXTENSION } from './openapi-problems.ts';

/** Both import routes answer what every operation does; the upload has its own 400, 413 and 415. */
const IMPORT_ERRORS = errorReasonsOf('/customers/import', 'permission');
const UPLOAD_ERRORS = {
  400: 'Not a readable CSV, no header row, unknown or missing columns: `errors` names each',
  413: 'Larger than IMPORT_MAX_BYTES, or more than IMPORT_MAX_ROWS data rows',
  415: 'Neither a CSV body nor multipart/form-data',
};

const columns = Object.entries(CUSTOMER_IMPORT_COLUMN_HELP)
  .map(([field, help]) => `- \`${field}\`: ${help}`)
  .join('\n');

const IMPORT_DESCRIPTION = `A CSV file (UTF-8 with or without BOM; comma, semicolon or tab separated, detected from the header line; RFC 4180 quoting) with a header row. Columns are matched by header name, ignoring case, spaces, underscores and hyphens:

${columns}

The export's other columns (${CUSTOMER_IMPORT_IGNORED_COLUMNS.join(', ')}) are read past, so an export imports back; any other column refuses the file. A row whose phone (normalised to E.164) matches a live customer updates that customer with the non-empty cells; otherwise it creates one. An empty cell never clears a value.

The file is checked (encoding, header, at most IMPORT_MAX_ROWS rows, at most IMPORT_MAX_BYTES) before anything is written, then imported by a background job in batches of 1,000 rows, one transaction each: follow \`GET /imports/{id}\` for progress and the per-row errors. \`dryRun=true\` validates every row and writes no customer.`;

/** The CSV import's plain HTTP routes (apps/api import-routes.ts), for the document's `paths`. */
export const IMPORT_PLAIN_ROUTES = {
  '/customers/import': {
    post: {
      tags: ['customers'],
      summary: 'Import customers from CSV (permission customers:import); answers 202 and runs as a job',
      description: IMPORT_DESCRIPTION,
      operationId: 'customers-import',
      security: PROTECTED_SECURITY,
      [ERROR_REASONS_EXTENSION]: IMPORT_ERRORS,
      requestParams: { query: importCustomersQuery },
      requestBody: {
        required: true,
        content: {
          'text/csv': { schema: z.string() },
          'multipart/form-data': {
            schema: z.object({ file: z.string().meta({ format: 'binary', description: 'the CSV file' }) }),
          },
        },
      },
      responses: {
        202: {
          description: 'Accepted: the import is queued; its columns as mapped',
          content: { 'application/json': { schema: importAcceptedSchema } },
        },
        ...errorResponsesOf(IMPORT_ERRORS, UPLOAD_ERRORS),
        413: { description: UPLOAD_ERRORS[413] },
        415: { description: UPLOAD_ERRORS[415] },
      },
    },
  },
  '/customers/import/template': {
    get: {
      tags: ['customers'],
      summary: 'The import template: the header row and one example row (permission customers:import)',
      description:
        'A CSV with the header row the import reads and one filled-in example row, to start a file from. ' +
        'Needs customers:import, like the upload.',
      operationId: 'customers-import-template',
      security: PROTECTED_SECURITY,
      [ERROR_REASONS_EXTENSION]: IMPORT_ERRORS,
      responses: {
        200: { description: 'CSV', content: { 'text/csv': { schema: z.string() } } },
        ...errorResponsesOf(IMPORT_ERRORS),
      },
    },
  },
};
