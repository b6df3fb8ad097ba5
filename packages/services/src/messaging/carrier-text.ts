/**
 * What a carrier says (an error text, a message id, an inbound body) is untrusted text. PostgreSQL
 * refuses NUL in text and unpaired surrogates in jsonb, and a long value in an index: one such
 * answer must not make a write fail. These run on every carrier answer, so each checks first and
 * cleans only what needs it.
 */

/** C0 controls other than tab, newline and carriage return, and DEL (NUL among them); unpaired surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSAFE_TEST = new RegExp(UNSAFE.source);

/** `text` without NUL, other control characters (tab and line breaks kept) or unpaired surrogates, at most `max` UTF-16 units. */
export function cleanCarrierText(text: string, max: number): string {
  let clean = UNSAFE_TEST.test(text) ? text.replace(UNSAFE, '') : text;
  if (clean.length > max) {
    clean = clean.slice(0, max);
    // Not half a surrogate pair at the cut.
    if (/[\ud800-\udbff]$/.test(clean)) clean = clean.slice(0, -1);
  }
  return clean;
}

/** A provider message id we keep: printable ASCII, no spaces, at most 128 characters (Twilio's are 34). */
const PROVIDER_MESSAGE_ID = /^[\x21-\x7e]{1,128}$/;

/** The reason a send is FAILED when the carrier accepted it but answered an id we cannot keep. */
export const INVALID_PROVIDER_MESSAGE_ID =
  'the carrier answered an invalid message id (not retried: it may have sent the SMS)';

/**
 * A carrier's message id as kept: a string (or an integer, as text) of up to 128 printable ASCII
 * characters; null when it gave none (absent, null or empty); `false` for anything else (an
 * object, a 16 KB string, control characters), which the providers answer as a carrier error.
 */
export function providerMessageIdOf(value: unknown): string | null | false {
  if (value === undefined || value === null || value === '') return null;
  const id = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof id === 'string' && PROVIDER_MESSAGE_ID.test(id) ? id : false;
}
