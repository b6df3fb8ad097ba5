import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { ValidationError } from '../errors.ts';

/** E.164 form of a phone number; numbers without a country code are read in `region`. */
export function normalizePhone(raw: string, region: string, field = 'phone'): string {
  const parsed = parsePhoneNumberFromString(raw, region as CountryCode);
  if (!parsed?.isValid()) throw ValidationError.field(field, 'not a valid phone number');
  return parsed.number;
}
