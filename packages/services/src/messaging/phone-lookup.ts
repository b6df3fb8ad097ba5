import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * A carrier's sender number in E.164 when it is a phone number, else as given (a short code or
 * an alphanumeric sender): an inbound message from such a sender is still recorded.
 */
export function parsePhoneOrKeep(raw: string, region: string): string {
  const parsed = parsePhoneNumberFromString(raw.trim(), region as CountryCode);
  return parsed?.isValid() ? parsed.number : raw.trim();
}

/** A zone's UTC offsets in January and July: two zones with the same keep the same wall clock. */
const offsetsOf = (zone: string) =>
  [Date.UTC(2026, 0, 15), Date.UTC(2026, 6, 15)]
    .map((instant) =>
      new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
        .formatToParts(instant)
        .find((part) => part.type === 'timeZoneName'),
    )
    .map((part) => part?.value)
    .join();

/**
 * The IANA time zone of a phone number when its country keeps one wall clock (libphonenumber-js
 * knows countries, not zones; the zones per country come from the ICU data Node ships, through
 * `Intl.Locale#timeZones`). Germany's Europe/Berlin and Europe/Busingen keep the same clock, so
 * Germany counts as one. Null for countries with several clocks (the United States, Canada,
 * Russia …): their customers fall back to APP_TIMEZONE unless given a `timeZone`.
 */
export function timeZoneFromPhone(phone: string): string | null {
  const country = parsePhoneNumberFromString(phone)?.country;
  if (!country) return null;
  const zones = (new Intl.Locale(`und-${country}`) as Intl.Locale & { timeZones?: string[] }).timeZones ?? [];
  const [first] = zones;
  if (!first) return null;
  const clock = offsetsOf(first);
  return zones.every((zone) => offsetsOf(zone) === clock) ? first : null;
}
