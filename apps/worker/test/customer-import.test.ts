import { ROLE_NAMES } from '@touch-crm/contract';
import { roleIdsByName, schema } from '@touch-crm/db';
import { CUSTOMER_EXPORT_COLUMNS, CUSTOMER_IMPORT_COLUMNS } from '@touch-crm/services';
import { insertCustomer, unique } from '@touch-crm/test-utils';
import { and, eq, isNull } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { importHelpers, type Upload, useImportEnvironment } from './support-import.ts';

const env = useImportEnvironment();

const { sql, phone, national, upload, getImport, importCsv, customerByPhone, counts } = importHelpers(() => env);

describe('POST /customers/import: reading the file', () => {
  it('reads UTF-8 with a BOM, semicolons, quoted separators, quotes and line breaks; normalises phones', async () => {
    const [a, b, c] = [phone(), phone(), phone()];
    const csv =
      '\uFEFFFirst Name;last_name;PHONE;Email;Notes;Address;Status\r\n' +
      `Zoë;"Smith; Jr.";${national(a)};zoe@example.com;"line one\nline two";"1 Main St, Springfield";customer\r\n` +
      `"Quote ""Q""";O'Brien;${a.replace('+1', '')};;;;\r\n` +
      `Bob;Stone;"${b}";;"a, b and c";;PROSPECT\n` +
      '\r\n' +
      `Eve;Nguyen;${c};eve@example.com;;;`;
    const { accepted, done } = await importCsv(new TextEncoder().encode(csv));
    expect(accepted).toMatchObject({ status: 'QUEUED', rowsTotal: 4, dryRun: false });
    expect(accepted.columns.map((column: { field: string }) => column.field)).toEqual([
      'firstName',
      'lastName',
      'phone',
      'email',
      'notes',
      'address',
      'status',
    ]);
    // Row 2 repeats row 1's phone (written differently): reported, not applied twice.
    expect(done).toMatchObject({ status: 'COMPLETED', rowsRead: 4, created: 3, updated: 0, failed: 1 });
    expect(done.errors.items).toEqual([{ rowNumber: 2, field: 'phone', message: 'the same phone as row 1' }]);
    const [zoe] = await customerByPhone(a);
    expect(zoe).toMatchObject({
      first_name: 'Zoë',
      last_name: 'Smith; Jr.',
      email: 'zoe@example.com',
      notes: 'line one\nline two',
      address: '1 Main St, Springfield',
      status: 'CUSTOMER',
      owner_username: env.team.manager.username,
      sms_opt_in: true,
    });
    expect((await customerByPhone(b))[0]).toMatchObject({ notes: 'a, b and c', status: 'PROSPECT' });
    expect((await customerByPhone(c))[0]).toMatchObject({ first_name: 'Eve', status: 'LEAD' });
    // The file is dropped once processed.
    const [stored] = await sql()`select content, completed_at from imports where id = ${accepted.id}`;
    expect(stored).toMatchObject({ content: null, completed_at: expect.anything() });
  });

  it('accepts multipart/form-data with a `file` field and keeps its file name', async () => {
    const p = phone();
    const form = new FormData();
    form.set('file', new Blob([`firstName,lastName,phone\nMulti,Part,${p}\n`], { type: 'text/csv' }), 'env.team.csv');
    const { accepted, done } = await importCsv(form as never);
    expect(accepted.filename).toBe('env.team.csv');
    expect(done).toMatchObject({ created: 1, failed: 0 });
  });

  it('records created customers as domain events in the same transaction, with the importer as actor', async () => {
    const p = phone();
    const { done } = await importCsv(`firstName,lastName,phone,status\nEva,Event,${p},CUSTOMER\n`);
    expect(done.created).toBe(1);
    const [customer] = await customerByPhone(p);
    const events = await sql()`select type, actor_user_id from domain_events where entity_id = ${customer.id}`;
    expect(events).toEqual([{ type: 'customer.created', actor_user_id: env.team.manager.id }]);
    const [audit] = await sql()`select action, changes from audit_log where entity_id = ${customer.id}`;
    expect(audit?.action).toBe('created');
    expect(audit?.changes.firstName).toEqual({ before: null, after: 'Eva' });
    const timeline = await sql()`select subject from work_logs where customer_id = ${customer.id}`;
    expect(timeline[0]?.subject).toBe('Customer created: Eva Event');
    // A new CUSTOMER is welcomed once, as when created through the API: at its creation event's
    // time (the import inserts the row welcomed, and the event's reaction writes the message).
    const welcome = await sql()`
      select m.type, c.welcomed_at = e.occurred_at as welcomed_at_event
        from message_queue m
        join customers c on c.id = m.customer_id
        join domain_events e on e.entity_id = c.id and e.type = 'customer.created'
       where m.customer_id = ${customer.id}`;
    expect(welcome).toEqual([{ type: 'WELCOME', welcomed_at_event: true }]);
    // Another event in reach of the welcome (the import's next run updating the row) writes none.
    const again = await importCsv(`phone,status,notes\n${p},CUSTOMER,again\n`);
    expect(again.done).toMatchObject({ updated: 1, failed: 0 });
    expect(await sql()`select count(*)::int as n from message_queue where customer_id = ${customer.id}`).toEqual([
      { n: 1 },
    ]);
  });
});

describe('rows: validation, matching by phone, ownership', () => {
  const badFile = (phones: string[]) =>
    [
      'firstName,lastName,phone,email,birthday',
      `Good,One,${phones[0]},one@example.com,1990-01-02`,
      `Good,Two,${phones[1]},,`,
      `Bad,Three,${phones[2]},not-an-email,1990-02-30`,
      `Good,Four,${phones[3]},,`,
      `Bad,Five,12,,`,
      `Good,Six,${phones[4]},,`,
    ].join('\n');

  it('dry run: validates every row, reports the bad ones by row number and field, writes no customer', async () => {
    const phones = [phone(), phone(), phone(), phone(), phone()];
    const before = await counts();
    const { accepted, done } = await importCsv(badFile(phones), { query: '?dryRun=true' });
    expect(accepted.dryRun).toBe(true);
    expect(done).toMatchObject({ status: 'COMPLETED', dryRun: true, rowsRead: 6, created: 4, updated: 0, failed: 2 });
    expect(done.errors.items).toEqual([
      { rowNumber: 3, field: 'birthday', message: 'expected a date as YYYY-MM-DD' },
      { rowNumber: 3, field: 'email', message: 'not a valid email address' },
      { rowNumber: 5, field: 'phone', message: 'not a valid phone number: 12' },
    ]);
    const after = await counts();
    expect(after.customers).toBe(before.customers);
    expect(after.events).toBe(before.events);
    expect(after.imports).toBe(before.imports + 1);
  });

  it('real run: imports the good rows, reports the bad ones, writes nothing of them', async () => {
    const phones = [phone(), phone(), phone(), phone(), phone()];
    const { done } = await importCsv(badFile(phones));
    expect(done).toMatchObject({ rowsRead: 6, created: 4, failed: 2 });
    expect(done.errors.items.map((e: { rowNumber: number; field: string }) => [e.rowNumber, e.field])).toEqual([
      [3, 'birthday'],
      [3, 'email'],
      [5, 'phone'],
    ]);
    for (const index of [0, 1, 3, 4]) expect(await customerByPhone(phones[index] as string)).toHaveLength(1);
    expect(await customerByPhone(phones[2] as string)).toHaveLength(0);
  });

  it('a row the database refuses is recorded and the rest of its batch still goes in (the batch is halved around it)', async () => {
    await sql().unsafe(`
      create or replace function refuse_explode() returns trigger language plpgsql as $$
      begin
        if new.first_name = 'Explode' then raise exception 'refused by test trigger' using errcode = '23514'; end if;
        return new;
      end $$;
      create trigger refuse_explode before insert on customers for each row execute function refuse_explode();`);
    try {
      const phones = Array.from({ length: 9 }, phone);
      const rows = phones.map((p, i) => `${i === 6 ? 'Explode' : 'Fine'},Row${i},${p}`);
      const { done } = await importCsv(['firstName,lastName,phone', ...rows].join('\n'));
      expect(done).toMatchObject({ rowsRead: 9, created: 8, failed: 1 });
      expect(done.errors.items).toEqual([
        { rowNumber: 7, field: null, message: 'could not be saved: refused by test trigger' },
      ]);
      expect(await customerByPhone(phones[6] as string)).toHaveLength(0);
      expect(await customerByPhone(phones[8] as string)).toHaveLength(1);
      // Events only for the rows that went in.
      const [{ n }] = (await sql()`select count(*)::int as n from domain_events d join customers c on c.id = d.entity_id
                                    where c.phone = any(${phones}) and d.type = 'customer.created'`) as [{ n: number }];
      expect(n).toBe(8);
    } finally {
      await sql().unsafe('drop trigger refuse_explode on customers; drop function refuse_explode();');
    }
  });

  it('updates an existing live customer with the same phone (only the non-empty cells), never duplicates', async () => {
    const existing = await insertCustomer(env.api.deps, env.team.manager.id, {
      firstName: 'Old',
      lastName: 'Name',
      phone: phone(),
      email: 'keep@example.com',
      status: 'LEAD',
    });
    const unchanged = await insertCustomer(env.api.deps, env.team.manager.id, {
      firstName: 'Same',
      lastName: 'Same',
      phone: phone(),
    });
    const csv = [
      'firstName,lastName,phone,email,status',
      `New,Name,${national(existing.phone)},,PROSPECT`,
      `Same,Same,${unchanged.phone},,`,
    ].join('\n');
    const { done } = await importCsv(csv);
    expect(done).toMatchObject({ created: 0, updated: 1, unchanged: 1, failed: 0 });
    const rows = await customerByPhone(existing.phone);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: existing.id,
      first_name: 'New',
      email: 'keep@example.com',
      status: 'PROSPECT',
    });
    const events = await sql()`select d.type, a.changes, d.actor_user_id from domain_events d
                               join audit_log a on a.event_id = d.id where d.entity_id = ${existing.id} order by d.type`;
    expect(events).toEqual([
      {
        type: 'customer.status_changed',
        changes: { status: { before: 'LEAD', after: 'PROSPECT' } },
        actor_user_id: env.team.manager.id,
      },
      {
        type: 'customer.updated',
        changes: { firstName: { before: 'Old', after: 'New' } },
        actor_user_id: env.team.manager.id,
      },
    ]);
    expect(await sql()`select 1 from domain_events where entity_id = ${unchanged.id}`).toHaveLength(0);
  });

  it('a soft-deleted customer with the phone does not match: a new customer is created', async () => {
    const gone = await insertCustomer(env.api.deps, env.team.manager.id, { phone: phone(), deletedAt: new Date() });
    const { done } = await importCsv(`firstName,lastName,phone\nBack,Again,${gone.phone}\n`);
    expect(done).toMatchObject({ created: 1, updated: 0 });
  });

  it('ownerUsername: managers name any active owner; unknown or inactive users are row errors', async () => {
    const [p1, p2] = [phone(), phone()];
    const csv = [
      'firstName,lastName,phone,Owner Username',
      `Rep,Owned,${p1},${env.team.rep.username.toUpperCase()}`,
      `No,Body,${p2},nobody-${unique('x')}`,
    ].join('\n');
    const { done } = await importCsv(csv);
    expect(done).toMatchObject({ created: 1, failed: 1 });
    expect(done.errors.items[0]).toMatchObject({ rowNumber: 2, field: 'ownerUsername' });
    expect((await customerByPhone(p1))[0].owner_username).toBe(env.team.rep.username);
  });

  it('ownerUsername: a role that may import but only create its own customers cannot set other owners', async () => {
    const roles = await roleIdsByName(env.api.deps.db);
    const repRole = roles[ROLE_NAMES.salesRep] as string;
    const current = (await env.api.rest('GET', '/roles', { token: env.team.admin.token })).body.find(
      (role: { id: string }) => role.id === repRole,
    ).permissions;
    await env.api.rest('PUT', `/roles/${repRole}/permissions`, {
      token: env.team.admin.token,
      body: { permissions: [...current, 'customers:import'] },
    });
    try {
      const others = await insertCustomer(env.api.deps, env.team.otherRep.id, { phone: phone() });
      const [mine, self, theirs] = [phone(), phone(), phone()];
      const csv = [
        'firstName,lastName,phone,ownerUsername',
        `Mine,Default,${mine},`,
        `Mine,Named,${self},${env.team.rep.username}`,
        `Theirs,Named,${theirs},${env.team.otherRep.username}`,
        `Update,Others,${others.phone},`,
      ].join('\n');
      const { done } = await importCsv(csv, { token: env.team.rep.token });
      expect(done).toMatchObject({ created: 2, updated: 0, failed: 2 });
      expect(done.errors.items).toEqual([
        {
          rowNumber: 3,
          field: 'ownerUsername',
          message: 'only holders of customers:create_all may import customers for another owner',
        },
        { rowNumber: 4, field: 'phone', message: 'a customer with this phone exists and you may not update them' },
      ]);
      expect((await customerByPhone(mine))[0].owner_username).toBe(env.team.rep.username);
      expect((await customerByPhone(self))[0].owner_username).toBe(env.team.rep.username);
      expect(await customerByPhone(theirs)).toHaveLength(0);
      expect((await customerByPhone(others.phone))[0].first_name).toBe(others.firstName);
    } finally {
      await env.api.rest('PUT', `/roles/${repRole}/permissions`, {
        token: env.team.admin.token,
        body: { permissions: current },
      });
    }
  });
});

describe('permissions', () => {
  it('needs customers:import: reps get 403, no token 401, nothing written', async () => {
    const before = await counts();
    const csv = `firstName,lastName,phone\nNo,Way,${phone()}\n`;
    expect((await upload(csv, { token: env.team.rep.token })).status).toBe(403);
    expect((await upload(csv, { token: null as never })).status).toBe(401);
    expect((await env.api.rest('GET', '/customers/import/template', { token: env.team.rep.token })).status).toBe(403);
    expect(await counts()).toEqual(before);
  });

  it('GET /imports/{id} shows an import to its creator and administrators only', async () => {
    const { accepted } = await importCsv(`firstName,lastName,phone\nSee,Me,${phone()}\n`);
    expect((await getImport(accepted.id, env.team.manager.token)).status).toBe(200);
    expect((await getImport(accepted.id, env.team.admin.token)).status).toBe(200);
    expect((await getImport(accepted.id, env.team.rep.token)).status).toBe(404);
    expect((await env.api.rest('GET', `/imports/${accepted.id}`)).status).toBe(401);
    expect((await getImport('not-a-uuid')).status).toBe(400);
  });
});

describe('bad input: 4xx naming the problem, nothing written', () => {
  const refused = async (
    body: string | Uint8Array,
    status: number,
    options: Upload = {},
  ): Promise<{ detail: string; errors?: { path: string[]; message: string }[] }> => {
    const before = await counts();
    const res = await upload(body, options);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(await counts()).toEqual(before);
    return res.body;
  };

  it('refuses a file that is not CSV text', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0xd8]);
    expect((await refused(png, 400)).errors?.[0]).toMatchObject({ path: ['file'] });
    const latin1 = new Uint8Array([...new TextEncoder().encode('firstName,lastName,phone\nJos'), 0xe9, 0x0a]);
    expect((await refused(latin1, 400)).errors?.[0]?.message).toMatch(/UTF-8/);
    const utf16 = new Uint8Array([0xff, 0xfe, 0x66, 0x00]);
    expect((await refused(utf16, 400)).errors?.[0]?.message).toMatch(/UTF-16/);
    expect((await refused('{"customers": []}', 415, { contentType: 'application/json' })).detail).toMatch(/text\/csv/);
  });

  it('refuses an empty file, a file without a header row, and a header without rows', async () => {
    expect((await refused('', 400)).errors?.[0]?.message).toMatch(/empty/);
    const noHeader = await refused(`Ada,Lovelace,${phone()}\nAlan,Turing,${phone()}\n`, 400);
    expect(noHeader.errors?.[0]).toMatchObject({ path: ['file'], message: expect.stringMatching(/no header row/) });
    expect((await refused('firstName,lastName,phone\n', 400)).errors?.[0]?.message).toMatch(/no data rows/);
    expect((await refused(`firstName,lastName,phone\n"Ada,Lovelace,${phone()}\n`, 400)).errors?.[0]?.message).toMatch(
      /unterminated quoted field starting on line 2/,
    );
  });

  it('names unknown columns, a second column for one field and a missing phone column', async () => {
    const unknown = await refused(`firstName,Favourite Colour,phone,shoe size\nAda,blue,${phone()},38\n`, 400);
    expect(unknown.errors?.map((issue) => issue.path)).toEqual([
      ['header', 'Favourite Colour'],
      ['header', 'shoe size'],
    ]);
    const twice = await refused(`phone,Phone\n${phone()},${phone()}\n`, 400);
    expect(twice.errors).toEqual([{ path: ['header', 'Phone'], message: 'a second column for phone', code: 'custom' }]);
    const noPhone = await refused('firstName,lastName\nAda,Lovelace\n', 400);
    expect(noPhone.errors?.[0]?.path).toEqual(['header', 'phone']);
  });

  it('refuses more than IMPORT_MAX_ROWS rows (413) and bodies above IMPORT_MAX_BYTES (413), on this route only', async () => {
    const rows = env.api.config.IMPORT_MAX_ROWS;
    const many = `phone\n${'+13035550100\n'.repeat(rows + 1)}`;
    expect((await refused(many, 413)).detail).toMatch(`more than ${rows} data rows`);
    const huge = `phone,notes\n+13035550100,${'x'.repeat(env.api.config.IMPORT_MAX_BYTES)}\n`;
    expect((await refused(huge, 413)).detail).toMatch(/exceeds/);
    // The larger limit is the import's: every other route keeps BODY_LIMIT_BYTES.
    const big = 'x'.repeat(env.api.config.BODY_LIMIT_BYTES + 1);
    const other = await env.api.rest('POST', '/customers', { token: env.team.manager.token, rawBody: big });
    expect(other.status).toBe(413);
  });
});

describe('template and round trip', () => {
  it('GET /customers/import/template gives the header and an example row, which imports as is', async () => {
    const res = await env.api.rest('GET', '/customers/import/template', { token: env.team.manager.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const [header, example] = res.text.trim().split('\r\n');
    expect(header).toBe(CUSTOMER_IMPORT_COLUMNS.join(','));
    expect(example).toContain(env.team.manager.username);
    const { done } = await importCsv(res.text.replace('+1 202 555 0123', phone()));
    expect(done).toMatchObject({ created: 1, failed: 0 });
    // Every column the importer reads is an export column: an export imports back.
    for (const column of CUSTOMER_IMPORT_COLUMNS) expect(CUSTOMER_EXPORT_COLUMNS).toContain(column);
  });

  it('an export of customers imports back: unchanged as they are, recreated identically once deleted', async () => {
    const tag = unique('Roundtrip');
    const created = [];
    for (const [index, values] of [
      { firstName: 'Plain', email: 'plain@example.com', birthday: '1980-12-31', gender: 'FEMALE' as const },
      { firstName: 'Quote "Q", Inc', notes: 'line one\nline two; with a semicolon', status: 'CUSTOMER' as const },
      { firstName: 'Formula', address: '=HYPERLINK("http://evil.example")', notes: '-5 degrees', smsOptIn: false },
      // Already in a spreadsheet's escaped spelling: the export doubles the `'`, the import takes one off.
      { firstName: 'Apostrophe', address: "'=1+1 is how Excel escapes", notes: "'tis the season" },
    ].entries())
      created.push(
        await insertCustomer(env.api.deps, index === 2 ? env.team.rep.id : env.team.manager.id, {
          lastName: tag,
          phone: phone(),
          ...values,
        }),
      );
    const exported = await env.api.rest('GET', `/customers/export?search=${tag.toLowerCase()}`, {
      token: env.team.admin.token,
    });
    expect(exported.status).toBe(200);

    const again = await importCsv(exported.text, { token: env.team.admin.token });
    expect(again.done).toMatchObject({ rowsRead: 4, created: 0, updated: 0, unchanged: 4, failed: 0 });

    for (const customer of created)
      expect((await env.api.rest('DELETE', `/customers/${customer.id}`, { token: env.team.admin.token })).status).toBe(
        200,
      );
    const back = await importCsv(exported.text, { token: env.team.admin.token });
    expect(back.done).toMatchObject({ created: 4, failed: 0 });
    for (const original of created) {
      const [copy] = await env.api.deps.db
        .select()
        .from(schema.customers)
        .where(and(eq(schema.customers.phone, original.phone), isNull(schema.customers.deletedAt)));
      const fields = ['firstName', 'lastName', 'email', 'birthday', 'gender', 'address', 'notes', 'status'] as const;
      for (const field of [...fields, 'ownerId', 'smsOptIn'] as const)
        expect(copy?.[field], field).toEqual(original[field]);
      expect(copy?.id).not.toBe(original.id);
    }
  });
});
