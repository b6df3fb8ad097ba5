import { appRouter } from '@touch-crm/api';
import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName, schema } from '@touch-crm/db';
import type { ServiceDeps } from '@touch-crm/services';
import { createUser, DEFAULT_TEST_PASSWORD, uniquePhone } from '../factories.ts';
import type { OpenApiDocument } from './operations.ts';
import type { FuzzOptions } from './run.ts';

/** The receiver the fuzzer's webhooks point at; the API must allow it (WEBHOOK_ALLOWED_HOSTS). */
export const FUZZ_WEBHOOK_HOST = 'hooks.example.com';

type Target = Omit<FuzzOptions, 'seed' | 'requests' | 'concurrency' | 'timeoutMs'>;

/**
 * A running API made ready for fuzzing: one user per role (plus anonymous and a forged token)
 * and a few real rows of each kind whose ids the generator uses. The actors themselves and the
 * roles are never a path id (`PUT /users/{id}`, `PUT /roles/{id}/permissions`), so the fuzzer
 * cannot lock itself out; they still appear as owners, assignees and role references.
 */
export async function prepareFuzzTarget(options: {
  url: string;
  deps: ServiceDeps;
  secrets?: readonly string[];
}): Promise<Target> {
  const { url, deps } = options;
  const [admin, manager, rep, spare] = await Promise.all([
    createUser(deps, { role: ROLE_NAMES.admin }),
    createUser(deps, { role: ROLE_NAMES.salesManager }),
    createUser(deps, { role: ROLE_NAMES.salesRep }),
    createUser(deps, { role: ROLE_NAMES.salesRep }),
  ]);
  const ids: Record<string, string[]> = {
    users: [spare.id],
    people: [admin.id, manager.id, rep.id, spare.id],
    roles: [],
    roleRefs: Object.values(await roleIdsByName(deps.db)),
    levels: (await deps.db.select({ id: schema.customerLevels.id }).from(schema.customerLevels)).map((row) => row.id),
  };
  const call = async (token: string, kind: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json().catch(() => null)) as Record<string, any> | null;
    if (response.ok && typeof json?.id === 'string') ids[kind] = [...(ids[kind] ?? []), json.id];
    return json;
  };

  const customer = await call(rep.token, 'customers', 'POST', '/customers', {
    firstName: 'Fuzz',
    lastName: 'Rep',
    phone: uniquePhone(),
  });
  await call(manager.token, 'customers', 'POST', '/customers', {
    firstName: 'Fuzz',
    lastName: 'Manager',
    phone: uniquePhone(),
  });
  const product = await call(admin.token, 'products', 'POST', '/products', {
    sku: `FUZZ-${Date.now()}`,
    name: 'Fuzz',
    unitPrice: 999,
  });
  await call(admin.token, 'promotions', 'POST', '/promotions', {
    name: 'Fuzz manual',
    code: `FUZZ${Date.now() % 100_000}`,
    discountType: 'PERCENTAGE',
    discountValue: 10,
    conditionType: 'MANUAL',
  });
  await call(rep.token, 'orders', 'POST', '/orders', {
    customerId: customer?.id,
    items: [{ productId: product?.id, quantity: 1 }],
  });
  const project = await call(rep.token, 'projects', 'POST', '/projects', { name: 'Fuzz', customerId: customer?.id });
  const task = await call(rep.token, 'tasks', 'POST', '/tasks', { title: 'Fuzz', projectId: project?.id });
  await call(rep.token, 'worklogs', 'POST', '/worklogs', {
    customerId: customer?.id,
    type: 'NOTE',
    subject: 'Fuzz',
    taskId: task?.id,
  });
  await call(admin.token, 'campaigns', 'POST', '/campaigns', { name: 'Fuzz' });
  // Several of the kinds the fuzzer deletes, so some outlive the first successful DELETE.
  for (let copy = 0; copy < 3; copy++) {
    await call(admin.token, 'webhooks', 'POST', '/webhooks', { url: `https://${FUZZ_WEBHOOK_HOST}/fuzz`, events: '*' });
    await call(rep.token, 'customers', 'POST', '/customers', {
      firstName: 'Fuzz',
      lastName: 'Spare',
      phone: uniquePhone(),
    });
  }
  const jobs = (await call(admin.token, 'jobs', 'GET', '/jobs')) as unknown as { name: string }[] | null;
  const upload = await fetch(`${url}/api/v1/customers/import?dryRun=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'text/csv' },
    body: `firstName,lastName,phone\nFuzz,Import,${uniquePhone()}\n`,
  });
  const imported = (await upload.json().catch(() => null)) as { id?: string } | null;
  if (imported?.id) ids.imports = [imported.id];

  const document = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDocument;
  return {
    baseUrl: url,
    document,
    procedures: new Set(Object.keys(appRouter._def.procedures)),
    actors: {
      admin: admin.token,
      manager: manager.token,
      rep: rep.token,
      anonymous: undefined,
      forged: `${rep.token.slice(0, -4)}AAAA`,
    },
    ids,
    examples: {
      'path:name': Array.isArray(jobs) ? jobs.map((job) => job.name) : [],
      phone: ['+12025550123', '(202) 555-0147', '2025550188', '+44 20 7946 0958'],
      username: ['admin', admin.username, rep.username],
      password: ['Admin123!', 'wrong-password'],
      events: ['*', ['order.placed', 'customer.created']],
      permissions: [['customers:read_own'], []],
      body: ['Hello {{firstName}}', '{{fullName}}{{fullName}}'],
    },
    secrets: [...(options.secrets ?? []), DEFAULT_TEST_PASSWORD, deps.config.JWT_SECRET ?? ''].filter(Boolean),
  };
}
