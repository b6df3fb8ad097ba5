import fc from 'fast-check';
import { HOSTILE_DATES, HOSTILE_NUMBERS, hostileValue } from './hostile-values.ts';
import type { JsonSchema } from './operations.ts';

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
  if (keys.length) {
    const valid = Object.fromEntries(keys.map((key) => [key, validLooking(properties[key] ?? {}, context, key)]));
    return fc.oneof(
      ...keys.map((target) => {
        const model = { ...valid, [target]: withOneHostile(properties[target] ?? {}, context, target) };
        const required = (schema.required ?? []).filter((key) => key in properties && key !== target);
        return fc.record(model, { requiredKeys: [...required, target] });
      }),
    );
  }
  if (schema.items && (schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))))
    return fc
      .tuple(
        fc.array(validLooking(schema.items, context, name), { maxLength: 2 }),
        withOneHostile(schema.items, context, name),
      )
      .map(([items, hostile]) => [...items, hostile]);
  return hostileFor(schema, context);
}
