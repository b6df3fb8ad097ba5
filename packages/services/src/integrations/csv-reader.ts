import { ValidationError } from '../errors.ts';

/**
 * Reading uploaded CSV: UTF-8 with or without a byte-order mark, comma, semicolon or tab
 * separated (whichever the header line uses), RFC 4180 quoting (quoted separators, quotes
 * doubled, line breaks inside quotes), CRLF, LF or CR line ends. Blank lines (and lines of
 * empty cells only) are skipped: they are not rows.
 */

/** A file that cannot be read as CSV at all: the whole upload is refused. */
export function fileError(message: string): ValidationError {
  return ValidationError.field('file', message);
}

/** UTF-8 text of an upload, without its BOM; UTF-16, other encodings and binary files are refused. */
export function decodeCsv(bytes: Uint8Array): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    throw fileError('the file is UTF-16: save it as "CSV UTF-8" and upload again');
  let text: string;
  try {
    // A leading BOM is consumed by the decoder (ignoreBOM: false).
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw fileError('the file is not UTF-8 text: save it as "CSV UTF-8" and upload again');
  }
  if (text.includes('\0')) throw fileError('the file is not CSV text (it contains binary data)');
  return text;
}

const QUOTE = 34;
const CR = 13;
const LF = 10;

/** The separator the header line uses most: `,`, `;` or a tab (`,` when it has none). */
export function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

/** One record: its fields and the line it starts on (1-based). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * The records of `text`, one at a time, so a caller holds one batch, never the whole file as
 * rows. An unterminated quote throws a ValidationError naming its line; anything after a closing
 * quote up to the next separator is kept as written.
 */
export function* csvRecords(text: string, delimiter: string): Generator<CsvRecord> {
  const separator = delimiter.charCodeAt(0);
  const length = text.length;
  let i = 0;
  let line = 1;
  while (i < length) {
    const fields: string[] = [];
    const start = line;
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        value = '';
        let from = i + 1;
        for (;;) {
          const close = text.indexOf('"', from);
          if (close < 0) throw fileError(`unterminated quoted field starting on line ${start}`);
          value += text.slice(from, close);
          if (text.charCodeAt(close + 1) === QUOTE) {
            value += '"';
            from = close + 2;
          } else {
            i = close + 1;
            break;
          }
        }
        for (let at = value.indexOf('\n'); at >= 0; at = value.indexOf('\n', at + 1)) line++;
        let end = i;
        while (end < length) {
          const c = text.charCodeAt(end);
          if (c === separator || c === CR || c === LF) break;
          end++;
        }
        if (end > i) value += text.slice(i, end);
        i = end;
      } else {
        let end = i;
        while (end < length) {
          const c = text.charCodeAt(end);
          if (c === separator || c === CR || c === LF) break;
          end++;
        }
        value = text.slice(i, end);
        i = end;
      }
      fields.push(value);
      if (i >= length) break;
      const c = text.charCodeAt(i);
      if (c === separator) {
        i++;
        if (i >= length) {
          fields.push('');
          break;
        }
        continue;
      }
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    if (fields.every((field) => field.trim() === '')) continue;
    yield { fields, line: start };
  }
}
