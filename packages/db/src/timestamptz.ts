const ZERO = 48;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;

const isSign = (code: number) => code === PLUS || code === MINUS;

/**
 * A timestamptz as PostgreSQL writes it, as a Date: `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`
 * (JSON writes a `T`; an offset with seconds is the local mean time PostgreSQL gives old dates
 * outside UTC; a year past 9999 has more digits, and ` BC` may follow). `new Date` reads this
 * text, which is not ISO 8601, with V8's legacy parser, which takes years 0–99 for 1950–2049 and
 * refuses an offset with seconds. Read by position instead, from character codes: no string is
 * built, and it runs faster than `new Date(text)` did.
 */
export function parseTimestamptz(text: string): Date {
  const digit = (at: number) => text.charCodeAt(at) - ZERO;
  const two = (at: number) => digit(at) * 10 + digit(at + 1);
  const bc = text.endsWith(' BC');
  const end = bc ? text.length - 3 : text.length;
  let sign = end - 3;
  while (sign >= end - 9 && !isSign(text.charCodeAt(sign))) sign -= 3;
  // 'infinity' and '-infinity' have no offset: an invalid Date, as drizzle's own mapping gives.
  if (sign < end - 9 || sign < 10) return new Date(Number.NaN);
  const toUtc = text.charCodeAt(sign) === PLUS ? -1 : 1;
  const offsetMinutes = sign + 3 < end ? two(sign + 4) : 0;
  const offsetSeconds = sign + 6 < end ? two(sign + 7) : 0;

  const y = text.indexOf('-', 1);
  let year = 0;
  for (let at = 0; at < y; at++) year = year * 10 + digit(at);
  let ms = 0;
  if (text.charCodeAt(y + 15) === DOT)
    for (let at = y + 16, scale = 100; at < sign && scale >= 1; at++, scale /= 10) ms += digit(at) * scale;
  const hours = two(y + 7) + toUtc * two(sign + 1);
  const minutes = two(y + 10) + toUtc * offsetMinutes;
  const seconds = two(y + 13) + toUtc * offsetSeconds;
  if (year >= 100 && !bc) return new Date(Date.UTC(year, two(y + 1) - 1, two(y + 4), hours, minutes, seconds, ms));
  // Date.UTC, like the legacy parser, takes years 0–99 for 1900–1999; setUTCFullYear takes any year.
  const date = new Date(0);
  date.setUTCFullYear(bc ? 1 - year : year, two(y + 1) - 1, two(y + 4));
  date.setUTCHours(hours, minutes, seconds, ms);
  return date;
}
