import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/errors.ts';
import { deriveCursorKey, listCursors } from '../src/lib/sync-cursor.ts';

const jwtKey = new TextEncoder().encode('a-test-secret-of-at-least-32-bytes!!');
const position = { updatedAt: '2026-12-03T15:08:04.123Z', id: '0b7d4c1e-3f2a-4c5b-9d8e-1a2b3c4d5e6f' };

describe('list cursors without the API’s derived key', () => {
  it('derive the same key, so either side opens the other’s cursors; another secret opens none', () => {
    const derivedOnce = listCursors({ jwtKey, cursorKey: deriveCursorKey(jwtKey) }, 'customers');
    const derivedHere = listCursors({ jwtKey }, 'customers');
    const cursor = derivedOnce.seal(position);
    expect(derivedHere.seal(position)).toBe(cursor);
    expect(derivedHere.open(cursor)).toEqual(position);
    const rotated = listCursors(
      { jwtKey: new TextEncoder().encode('another-secret-of-at-least-32-bytes') },
      'customers',
    );
    expect(() => rotated.open(cursor)).toThrow(ValidationError);
    expect(() => listCursors({ jwtKey }, 'orders').open(cursor)).toThrow(ValidationError);
  });
});
