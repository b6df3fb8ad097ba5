/**
 * The words a reply is read as. Opt-out: the FCC's list (47 CFR 64.1200(a)(10), in force since
 * April 2025: stop, quit, end, revoke, opt out, cancel, unsubscribe) plus the carriers' STOPALL
 * and OPTOUT; SMS_STOP_KEYWORDS adds to it, never replaces it.
 */
export const STOP_KEYWORDS = ['STOP', 'STOPALL', 'QUIT', 'END', 'REVOKE', 'OPT OUT', 'OPTOUT', 'CANCEL', 'UNSUBSCRIBE'];
export const START_KEYWORDS = ['START', 'UNSTOP', 'YES'];
export const HELP_KEYWORDS = ['HELP', 'INFO'];

export type Keyword = 'stop' | 'start' | 'help';

/**
 * A reply as compared with the keywords: trimmed, upper-cased (Unicode case folding), every
 * character that is not a letter, digit or space dropped, runs of spaces made one. "Stop." and
 * " opt-out!" read as STOP and OPTOUT; "opt out" as OPT OUT.
 */
export const normaliseReply = (body: string) =>
  body
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}\s]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();

/** Which keyword a whole reply is, if any: "stop sending me these" is free text, not STOP. */
export function keywordOf(body: string, extraStopWords: readonly string[] = []): Keyword | null {
  const reply = normaliseReply(body);
  if (STOP_KEYWORDS.includes(reply) || extraStopWords.some((word) => normaliseReply(word) === reply)) return 'stop';
  if (START_KEYWORDS.includes(reply)) return 'start';
  if (HELP_KEYWORDS.includes(reply)) return 'help';
  return null;
}
