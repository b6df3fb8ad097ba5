import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { ValidationError } from '../errors.ts';

/** A phone number's E.164 form and its country (when the number tells it); numbers without a country code are read in `region`. */
export function parsePhone(raw: string, region: string, field = 'phone'): { phone: string; country?: string } {
  const parsed = parsePhoneNumberFromString(raw, region as CountryCode);
  if (!parsed?.isValid()) throw ValidationError.field(field, 'not a valid phone number');
  return { phone: parsed.number, country: parsed.country };
}

/** E.164 form of a phone number; numbers without a country code are read in `region`. */
export function normalizePhone(raw: string, region: string, field = 'phone'): string {
  return parsePhone(raw, region, field).phone;
}
