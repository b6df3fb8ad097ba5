import fc from 'fast-check';
import type { JsonSchema } from './operations.ts';

/** Text placed into a REST URL exactly as written (no percent-encoding): broken escapes and the like. */
export class RawText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toJSON() {
    return this.text;
  }
}

export interface ValueContext {
  resolve: (schema: JsonSchema) => JsonSchema;
  /** Ids of real rows by kind (`customers`, `users` …), so requests reach past "not found". */
  ids: Readonly<Record<string, readonly string[]>>;
  /** Real values by property or parameter name (`path:name` for a path parameter), offered beside generated ones. */
  examples: Readonly<Record<string, readonly unknown[]>>;
  /** Chance that a value is hostile rather than valid-looking (0: never). */
  hostileRate: number;
  /** Objects carry only their required properties (writes that most often succeed). */
  minimal?: boolean;
  /** Everything valid-looking except exactly one parameter or body field, aimed at its type. */
  single?: boolean;
}

const NESTING = 3_000;
const deepArray = () => {
  let value: unknown = 0;
  for (let level = 0; level < NESTING; level++) value = [value];
  return value;
};
const deepObject = () => {
  let value: unknown = 'leaf';
  for (let level = 0; level < NESTING; level++) value = { a: value };
  return value;
};

export const HOSTILE_DATES = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+14:00',
  '9999-12-31T23:59:59-14:00',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '2026-01-01T00:00:00+23:59',
  '2026-02-29T00:00:00Z',
  '2024-02-29T12:00:00.123456789-12:00',
  '+275760-09-13T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '0000-01-01',
  '0000-02-29',
  '0001-01-01',
  '9999-12-31',
  '10000-01-01',
  '2026-04-31',
];

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udbff\udfff',
  '\ufeff',
  '\u202e\u0041',
  'é\u0301\u0301\u0301',
  '😀'.repeat(50),
  "' OR '1'='1",
  "'; drop table customers; --",
  '%',
  '_',
  '\\',
  '%_\\%',
  '{{fullName}}{{fullName}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  '__proto__',
  'constructor',
  '$where',
  '\r\n\r\nX-Injected: 1',
  'a'.repeat(300),
  'b'.repeat(20_000),
  'c'.repeat(1_200_000),
];

const HOSTILE_NUMBERS = [
  0,
  -1,
  -0,
  0.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63,
  1e21,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_VALUE,
];

const HOSTILE_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a\u0000',
  '0b9f5c2e4a7d4d8e9a513f0c2d1e7b6a',
  '{0b9f5c2e-4a7d-4d8e-9a51-3f0c2d1e7b6a}',
  '1',
  '-1',
  '..',
  'export',
  'my-tasks',
  'import',
];

/** Values no schema asks for: wrong types, extremes, deep nesting. */
const wrongTypes = fc.constantFrom<unknown>(
  null,
  true,
  false,
  [],
  {},
  [1, 'two', null],
  { $ne: null },
  JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`k${index}`, index])),
  Array.from({ length: 5_000 }, (_, index) => index),
  deepArray(),
  deepObject(),
);

/** Broken percent-escapes and the like, for URLs only. */
export const rawUrlText = fc.constantFrom(
  new RawText('%'),
  new RawText('%ZZ'),
  new RawText('%00'),
  new RawText('%ED%A0%80'),
  new RawText('%FF%FE'),
  new RawText('%C0%AE%C0%AE'),
  new RawText('a%2Fb'),
  new RawText('x%0D%0ASet-Cookie:%20a=b'),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }).map((text) => `${text}\u0000${text}`) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_DATES) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
  { weight: 3, arbitrary: wrongTypes },
);

const dateTime = fc
  .tuple(
    fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }),
    fc.constantFrom('Z', '+00:00', '+05:30', '-08:00', '+14:00', '-12:00'),
  )
  .map(([date, offset]) => date.toISOString().replace('Z', offset));
const calendarDay = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true })
  .map((date) => date.toISOString().slice(0, 10));
const urls = fc.constantFrom(
  'https://hooks.example.com/touch-crm',
  'http://127.0.0.1:9/x',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://169.254.169.254/latest/meta-data',
  'http://user:secret@hooks.example.com/',
  'https://localhost./',
  'http://0x7f000001/',
);

/** Which rows an id names, from the field or parameter that holds it. */
const ID_KINDS: Record<string, string> = {
  ownerId: 'people',
  assigneeId: 'people',
  userId: 'people',
  ownerIds: 'people',
  referredById: 'customers',
  roleId: 'roleRefs',
  levelIds: 'levels',
};
export function idKind(name: string): string {
  return ID_KINDS[name] ?? name.replace(/Ids?$/, 's');
}

const cap = (value: number | undefined, fallback: number, limit: number) => Math.min(value ?? fallback, limit);

function patterned(schema: JsonSchema): fc.Arbitrary<string> | undefined {
  if (!schema.pattern) return undefined;
  try {
    const max = schema.maxLength ?? Number.POSITIVE_INFINITY;
    return fc
      .stringMatching(new RegExp(schema.pattern))
      .filter((value) => value.length <= max && value.length >= (schema.minLength ?? 0));
  } catch {
    return undefined;
  }
}

function stringFor(schema: JsonSchema, context: ValueContext, name: string): fc.Arbitrary<unknown> {
  switch (schema.format) {
    case 'uuid': {
      const kind = name.startsWith('path:') ? name.slice('path:'.length) : idKind(name);
      const known = context.ids[kind] ?? Object.values(context.ids).flat();
      return known.length
        ? fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.uuid() })
        : fc.uuid();
    }
    case 'date-time':
      return dateTime;
    case 'date':
      return calendarDay;
    case 'email':
      return fc.stringMatching(/^[a-z0-9]{1,12}$/).map((local) => `${local}@example.com`);
    case 'uri':
      return urls;
  }
  const minLength = schema.minLength ?? 0;
  const words = fc.string({ minLength, maxLength: Math.max(minLength, cap(schema.maxLength, 40, 40)) });
  const matching = patterned(schema);
  return matching ? fc.oneof({ weight: 3, arbitrary: matching }, { weight: 1, arbitrary: words }) : words;
}

function numberFor(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = Math.max(schema.minimum ?? schema.exclusiveMinimum ?? -1_000_000, -1_000_000);
  const max = Math.min(schema.maximum ?? schema.exclusiveMaximum ?? 1_000_000, 1_000_000);
  const edges = [schema.minimum, schema.maximum].filter((edge): edge is number => edge !== undefined);
  const inRange = integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(Math.max(min, max)) })
    : fc.double({ min, max: Math.max(min, max), noNaN: true });
  return edges.length ? fc.oneof({ weight: 4, arbitrary: inRange }, fc.constantFrom(...edges)) : inRange;
}

/** A value the schema would accept, or nearly (lengths are capped, formats approximated). */
export function validLooking(raw: JsonSchema, context: ValueContext, name = ''): fc.Arbitrary<unknown> {
  const examples = context.examples[name];
  const generated = generate(context.resolve(raw), context, name);
  return examples?.length ? fc.oneof(fc.constantFrom(...examples), generated) : generated;
}

function generate(schema: JsonSchema, context: ValueContext, name: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum?.length) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices?.length) return fc.oneof(...choices.map((choice) => validLooking(choice, context, name)));
  if (schema.allOf?.length) return validLooking(Object.assign({}, ...schema.allOf), context, name);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => validLooking({ ...schema, type }, context, name)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return numberFor(schema, true);
    case 'number':
      return numberFor(schema, false);
    case 'string':
      return stringFor(schema, context, name);
    case 'array':
      return fc.array(valueFor(schema.items ?? {}, context, name), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, cap(schema.maxItems, 4, 4)),
      });
    case 'object':
      return objectFor(schema, context);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectFor(schema: JsonSchema, context: ValueContext): fc.Arbitrary<unknown> {
  const required = schema.required ?? [];
  const all = schema.properties ?? {};
  const properties = context.minimal ? Object.fromEntries(required.map((key) => [key, all[key] ?? {}])) : all;
  const model = Object.fromEntries(
    Object.entries(properties).map(([key, property]) => [key, valueFor(property, context, key)]),
  );
  const record = fc.record(model, { requiredKeys: required.filter((key) => key in properties) });
  if (Object.keys(all).length > 0) return record;
  return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
}

/** A valid-looking value, or (at the context's rate) a hostile one. */
export function valueFor(schema: JsonSchema, context: ValueContext, name = ''): fc.Arbitrary<unknown> {
  const valid = validLooking(schema, context, name);
  if (context.hostileRate <= 0) return valid;
  const hostileWeight = Math.max(1, Math.round(context.hostileRate * 100));
  return fc.oneof(
    { weight: 100 - hostileWeight, arbitrary: valid },
    { weight: hostileWeight, arbitrary: hostileValue },
  );
}

const OUT_OF_RANGE_DATE_TIMES = ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+14:00', '9999-12-31T23:59:59-14:00'];
const OUT_OF_RANGE_DATES = ['0000-01-01', '0000-02-29', '10000-01-01'];

/** A hostile value aimed at the schema's type: poisoned text for text, boundary dates for dates. */
export function hostileFor(raw: JsonSchema, context: ValueContext): fc.Arbitrary<unknown> {
  const schema = context.resolve(raw);
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  let aimed: fc.Arbitrary<unknown> | undefined;
  if (schema.format === 'date-time') aimed = fc.constantFrom(...OUT_OF_RANGE_DATE_TIMES, ...HOSTILE_DATES);
  else if (schema.format === 'date') aimed = fc.constantFrom(...OUT_OF_RANGE_DATES, ...HOSTILE_DATES);
  else if (types.includes('string') && !schema.enum)
    aimed = fc
      .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom('\u0000', '\ud800', '\udc00'))
      .map(([text, poison]) => `${text}${poison}${text}`);
  else if (types.includes('integer') || types.includes('number')) aimed = fc.constantFrom(...HOSTILE_NUMBERS);
  return aimed ? fc.oneof({ weight: 4, arbitrary: aimed }, { weight: 1, arbitrary: hostileValue }) : hostileValue;
}

/** A valid-looking value with exactly one hostile leaf, at any depth (an object property, an array item). */
export function withOneHostile(raw: JsonSchema, context: ValueContext, name = ''): fc.Arbitrary<unknown> {
  const schema = context.resolve(raw);
  const choices = (schema.anyOf ?? schema.oneOf)?.filter((choice) => context.resolve(choice).type !== 'null');
  if (choices?.length) return fc.oneof(...choices.map((choice) => withOneHostile(choice, context, name)));
  const properties = schema.properties ?? {};
  const keys = Object.keys(properties);
  if (keys.length)
    return fc.constantFrom(...keys).chain((target) => {
      const model = Object.fromEntries(
        keys.map((key) => [
          key,
          key === target
            ? withOneHostile(properties[key] ?? {}, context, key)
            : validLooking(properties[key] ?? {}, context, key),
        ]),
      );
      const required = (schema.required ?? []).filter((key) => key in properties && key !== target);
      return fc.record(model, { requiredKeys: [...required, target] });
    });
  if (schema.items && (schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))))
    return fc
      .tuple(
        fc.array(validLooking(schema.items, context, name), { maxLength: 2 }),
        withOneHostile(schema.items, context, name),
      )
      .map(([items, hostile]) => [...items, hostile]);
  return hostileFor(schema, context);
}
