import { z } from 'zod';
import { listCustomersInput } from './customers.ts';
import { listOrdersInput } from './orders.ts';

const format = {
  format: z.enum(['csv', 'json']).default('csv').meta({ description: '`csv` (with a header row) or `json` (NDJSON)' }),
};

/** The list's filters, without paging: an export is every matching row in the caller's scope. */
export const customerExportInput = listCustomersInput.omit({ page: true, pageSize: true, sort: true }).extend(format);
export const orderExportInput = listOrdersInput.omit({ page: true, pageSize: true, sort: true }).extend(format);
