/**
 * Leading characters a spreadsheet would run as a formula, and the `'` that marks a defused one (so
 * a value that starts with `'` gets one more, which the import takes off again). Phone numbers (+
 * then digits) stay as they are.
 */
const FORMULA = /^(?:[=@\t\r']|[+-](?![\d\s()]+$))/;
const NEEDS_QUOTES = /[",\r\n;]/;

/** One CSV field: quoted when needed, and defused when a spreadsheet would read it as a formula. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : String(value);
  if (text === '') return text;
  // Only a field starting with one of these can be a formula: skip the expression for the rest.
  const first = text.charCodeAt(0);
  if (
    (first === 61 || first === 64 || first === 9 || first === 13 || first === 43 || first === 45 || first === 39) &&
    FORMULA.test(text)
  )
    text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (values: readonly unknown[]) => `${values.map(csvField).join(',')}\r\n`;
