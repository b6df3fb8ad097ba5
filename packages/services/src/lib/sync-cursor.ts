import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { decodeCursor, encodeCursor, type SyncPosition } from '@touch-crm/contract';
import type { ServiceDeps } from '../deps.ts';
import { ValidationError } from '../errors.ts';

/** What the cursor key is derived for: the JWT key itself never signs anything but tokens. */
const KEY_PURPOSE = 'touch-crm sync cursor v1';
const TAG_BYTES = 16;

const NOT_ISSUED = 'is not a cursor this API issued for this list (use the `nextCursor` of an answer from it)';
const UNSIGNED =
  'was issued before cursors were signed and is no longer accepted: restart the sync without `cursor`, ' +
  'with `updatedAfter` a moment before the last `updatedAt` you received';

/** The key list cursors are signed with, derived from the JWT key (a KeyObject: HMAC over a raw key costs ~10× more). */
export function deriveCursorKey(jwtKey: Uint8Array): KeyObject {
  return createSecretKey(createHmac('sha256', createSecretKey(jwtKey)).update(KEY_PURPOSE).digest());
}

/**
 * The cursors of one list (named by its table): each carries a tag, an HMAC over the list and the
 * position, so a cursor of another list, a forged or an edited one is a 400 naming `cursor`. The
 * key is the API's `cursorKey`; without one it is derived here, only when a cursor is read or written.
 */
export function listCursors(deps: Pick<ServiceDeps, 'jwtKey' | 'cursorKey'>, list: string) {
  let key = deps.cursorKey;
  const tag = (position: SyncPosition) => {
    key ??= deriveCursorKey(deps.jwtKey);
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
