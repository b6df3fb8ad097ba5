import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeCursor, encodeCursor, type SyncPosition } from '@touch-crm/contract';
import { ValidationError } from '../errors.ts';

/** What the cursor key is derived for: the JWT key itself never signs anything but tokens. */
const KEY_PURPOSE = 'touch-crm sync cursor v1';
const TAG_BYTES = 16;

const NOT_ISSUED = 'is not a cursor this API issued for this list (use the `nextCursor` of an answer from it)';
const UNSIGNED =
  'was issued before cursors were signed and is no longer accepted: restart the sync without `cursor`, ' +
  'with `updatedAfter` a moment before the last `updatedAt` you received';

/**
 * The cursors of one list (named by its table): each carries a tag, an HMAC over the list and the
 * position, so a cursor of another list, a forged or an edited one is a 400 naming `cursor`. The
 * key (derived from the JWT key) is computed once per request, and only when a cursor is read or
 * written.
 */
export function listCursors(jwtKey: Uint8Array, list: string) {
  let key: Buffer | undefined;
  const tag = (position: SyncPosition) => {
    key ??= createHmac('sha256', jwtKey).update(KEY_PURPOSE).digest();
    return createHmac('sha256', key)
      .update(`${list}\n${position.updatedAt}\n${position.id}`)
      .digest()
      .subarray(0, TAG_BYTES)
      .toString('base64url');
  };
  return {
    seal: (position: SyncPosition) =>
      encodeCursor({ updatedAt: position.updatedAt, id: position.id, tag: tag(position) }),
    /** The position a cursor of this list names; a 400 naming `cursor` for any other text. */
    open(cursor: string): SyncPosition {
      const decoded = decodeCursor(cursor);
      if (!decoded) throw ValidationError.field('cursor', NOT_ISSUED);
      if (decoded.tag === undefined) throw ValidationError.field('cursor', UNSIGNED);
      const position = { updatedAt: decoded.updatedAt, id: decoded.id };
      // The tag's text is compared, not its bytes: base64url has several spellings of the last byte.
      const expected = Buffer.from(tag(position));
      const given = Buffer.from(decoded.tag);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw ValidationError.field('cursor', NOT_ISSUED);
      return position;
    },
  };
}

export type ListCursors = ReturnType<typeof listCursors>;
