import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * A carrier's sender number in E.164 when it is a phone number, else as given (a short code or
 * an alphanumeric sender): an inbound message from such a sender is still recorded.
 */
export function parsePhoneOrKeep(raw: string, region: string): string {
  const parsed = parsePhoneNumberFromString(raw.trim(), region as CountryCode);
  return parsed?.isValid() ? parsed.number : raw.trim();
}
