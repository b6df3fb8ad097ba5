import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const src = new URL('../src/', import.meta.url);

describe('services hold no module-global state', () => {
  it('declares no module-level let or var: what a verb needs comes in through its arguments', async () => {
    const files = (await readdir(src, { recursive: true })).filter((file) => file.endsWith('.ts'));
    const found: string[] = [];
    for (const file of files) {
      const lines = (await readFile(new URL(file, src), 'utf8')).split('\n');
      lines.forEach((line, index) => {
        if (/^(export\s+)?(let|var)\s/.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });
});
