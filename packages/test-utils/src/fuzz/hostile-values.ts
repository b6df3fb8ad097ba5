import fc from 'fast-check';

/** Values no well-behaved client sends, shared by every fuzzing mode. */

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

export const HOSTILE_NUMBERS = [
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
