/** Wall-clock arithmetic in an IANA time zone, without a date library. */

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The wall clock in `timeZone` at an instant. */
export function wallTime(at: Date, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(at))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return {
    year: parts.year as number,
    month: parts.month as number,
    day: parts.day as number,
    hour: parts.hour as number,
    minute: parts.minute as number,
    second: parts.second as number,
  };
}

/**
 * The instant a wall-clock time in `timeZone` denotes. In a DST gap the time is read with the
 * offset before the gap (so it lands just after the gap); in an overlap, the first occurrence.
 */
export function instantOf(wall: Omit<WallTime, 'second'> & { second?: number }, timeZone: string): Date {
  const target = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second ?? 0);
  let guess = target;
  for (let i = 0; i < 3; i++) {
    const seen = wallTime(new Date(guess), timeZone);
    const seenAsUtc = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second);
    const next = guess + (target - seenAsUtc);
    if (next === guess) break;
    guess = next;
  }
  return new Date(guess);
}

/** `YYYY-MM-DD` of the calendar day at an instant in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const { year, month, day } = wallTime(at, timeZone);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Quiet hours as minutes after local midnight; `start > end` wraps midnight (21:00–08:00). */
export interface QuietHours {
  start: number;
  end: number;
}

const minutesOf = (wall: WallTime) => wall.hour * 60 + wall.minute;

export function inQuietHours(at: Date, quiet: QuietHours | null, timeZone: string): boolean {
  if (!quiet) return false;
  const minute = minutesOf(wallTime(at, timeZone));
  return quiet.start < quiet.end
    ? minute >= quiet.start && minute < quiet.end
    : minute >= quiet.start || minute < quiet.end;
}

/** The first minute at or after `at` outside quiet hours: `at` itself when it already is. */
export function nextAllowedMinute(at: Date, quiet: QuietHours | null, timeZone: string): Date {
  if (!inQuietHours(at, quiet, timeZone) || !quiet) return at;
  const wall = wallTime(at, timeZone);
  // Quiet hours end later today when we are before their end, else tomorrow.
  const dayOffset = minutesOf(wall) < quiet.end ? 0 : 1;
  const day = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + dayOffset));
  return instantOf(
    {
      year: day.getUTCFullYear(),
      month: day.getUTCMonth() + 1,
      day: day.getUTCDate(),
      hour: Math.floor(quiet.end / 60),
      minute: quiet.end % 60,
    },
    timeZone,
  );
}
