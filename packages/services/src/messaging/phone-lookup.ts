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
 * Russia …): their customers fall back to APP_TIMEZONE unless given a `timeZone`. Comparing a
 * country's clocks builds two formatters per zone (the United States has 29), so a caller
 * looking up many phones passes `known`, the answers by country so far.
 */
export function timeZoneFromPhone(phone: string, known?: Map<string, string | null>): string | null {
  const country = parsePhoneNumberFromString(phone)?.country;
  return country ? timeZoneOfCountry(country, known) : null;
}

/** The time zone of a country's phones (see timeZoneFromPhone), remembered in `known` when given. */
export function timeZoneOfCountry(country: string, known?: Map<string, string | null>): string | null {
  const remembered = known?.get(country);
  if (remembered !== undefined) return remembered;
  const zone = clockOfCountry(country);
  known?.set(country, zone);
  return zone;
}

function clockOfCountry(country: string): string | null {
  const zones = (new Intl.Locale(`und-${country}`) as Intl.Locale & { timeZones?: string[] }).timeZones ?? [];
  const [first] = zones;
  if (!first) return null;
  const clock = offsetsOf(first);
  return zones.every((zone) => offsetsOf(zone) === clock) ? first : null;
}
