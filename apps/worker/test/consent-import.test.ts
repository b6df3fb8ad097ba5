import { insertCustomer, uniquePhone, waitFor } from '@touch-crm/test-utils';
import { describe, expect, it } from 'vitest';
import { useImportEnvironment } from './support-import.ts';

const env = useImportEnvironment();

async function importCsv(csv: string) {
  const accepted = await fetch(`${env.api.url}/api/v1/customers/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.team.manager.token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const { id } = (await accepted.json()) as { id: string };
  return waitFor(
    async () => {
      const res = await env.api.rest('GET', `/imports/${id}`, { token: env.team.manager.token });
      return ['COMPLETED', 'FAILED'].includes(res.body.status) ? res.body : null;
    },
    { timeoutMs: 15_000, intervalMs: 25, what: `import ${id}` },
  );
}

const consentOf = async (customerId: string) =>
  (await env.api.rest('GET', `/customers/${customerId}/consent`, { token: env.team.manager.token })).body;

describe('the consent record of the CSV import', () => {
  it('writes an import entry for each new customer and for each existing one whose smsOptIn changes', async () => {
    const [yes, no] = [uniquePhone(), uniquePhone()];
    const changed = await insertCustomer(env.api.deps, env.team.manager.id, { smsOptIn: true });
    const unchanged = await insertCustomer(env.api.deps, env.team.manager.id, { smsOptIn: true });
    const done = await importCsv(
      'firstName,lastName,phone,smsOptIn\n' +
        `Yes,Please,${yes},yes\n` +
        `No,Thanks,${no},no\n` +
        `Chang,Ed,${changed.phone},no\n` +
        `Same,Old,${unchanged.phone},yes\n`,
    );
    expect(done).toMatchObject({ status: 'COMPLETED', created: 2, updated: 2 });
    const ids = await env.api.deps.db.$client`select id, phone from customers where phone in (${yes}, ${no})`;
    const idOf = (phone: string) => ids.find((row) => row.phone === phone)?.id as string;

    expect(await consentOf(idOf(yes))).toMatchObject({
      marketing: 'granted',
      marketingSource: 'import',
      history: [{ action: 'granted', source: 'import', actorUserId: env.team.manager.id }],
    });
    expect((await consentOf(idOf(no))).history).toMatchObject([{ action: 'withdrawn', source: 'import' }]);
    expect(await consentOf(changed.id)).toMatchObject({
      marketing: 'withdrawn',
      history: [{ action: 'withdrawn', source: 'import', evidence: { operation: 'import', rowNumber: 3 } }],
    });
    expect((await consentOf(unchanged.id)).history).toEqual([]);
  });
});
