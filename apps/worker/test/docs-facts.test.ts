import { readFile } from 'node:fs/promises';
import { rfmSegmentSchema } from '@touch-crm/contract';
import { DEFAULT_LEVELS } from '@touch-crm/db';
import { QUEUE_NAMES, QUEUES } from '@touch-crm/jobs';
import { describe, expect, it } from 'vitest';

const page = (name: string) => readFile(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

/** The cells of every Markdown table row after `marker`, trimmed, header and separator left out. */
function tableAfter(markdown: string, marker: string): string[][] {
  const lines = markdown.slice(markdown.indexOf(marker)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

describe('the job table in docs/worker.md', () => {
  it('lists every scheduled queue with the variable that overrides its schedule', async () => {
    const rows = tableAfter(await page('worker.md'), '| job ');
    const documented = Object.fromEntries(rows.map((cells) => [cells[0], cells[3]]));
    const scheduled = QUEUE_NAMES.flatMap((name) => {
      const cron = (QUEUES[name] as { cron?: string }).cron;
      return cron ? [[`\`${name}\``, `\`${cron}\``]] : [];
    });
    expect(scheduled.length).toBeGreaterThan(0);
    for (const [name, cron] of scheduled) expect(documented[name as string], name).toBe(cron);
  });
});

describe('docs/rfm-and-levels.md', () => {
  it('names every RFM segment the contract knows in its segment table, and no other', async () => {
    const rows = tableAfter(await page('rfm-and-levels.md'), '| R \\ F');
    const named = new Set(rows.flatMap((cells) => cells.slice(1)));
    expect([...named].sort()).toEqual([...rfmSegmentSchema.options].sort());
  });

  it('gives the seeded default levels and their thresholds', async () => {
    const rows = tableAfter(await page('rfm-and-levels.md'), '| level ');
    const documented = rows.map((cells) => [cells[0], Number.parseInt(cells[1] ?? '', 10)]);
    expect(documented).toEqual(DEFAULT_LEVELS.map((level) => [level.name, level.minRfmScore]));
  });
});
