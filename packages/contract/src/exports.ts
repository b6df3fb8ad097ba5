import { z } from 'zod';
import { listCustomersInput } from './customers.ts';
import { listOrdersInput } from './orders.ts';

const format = {
  format: z.enum(['csv', 'json']).default('csv').meta({ description: '`csv` (with a header row) or `json` (NDJSON)' }),
};

/** The list's filters, without paging or sync: an export is every matching row in the caller's scope. */
const notExported = { page: true, pageSize: true, sort: true, updatedAfter: true, cursor: true, limit: true } as const;
export const customerExportInput = listCustomersInput.omit({ ...notExported }).extend(format);
export const orderExportInput = listOrdersInput.omit({ ...notExported }).extend(format);
