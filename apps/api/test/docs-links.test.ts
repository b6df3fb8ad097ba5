import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Headings outside code fences (a `# comment` inside a bash block is not one). */
function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (heading?.[1]) anchors.add(slugger.slug(heading[1].replaceAll('`', '')));
  }
  return anchors;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('links between README.md, CONTRIBUTING.md and docs/', () => {
  it('point at files that exist and headings they have', async () => {
    const pages = ['README.md', 'CONTRIBUTING.md', ...(await readdir(join(root, 'docs'))).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const page of pages.filter((name) => name.endsWith('.md'))) {
      const text = await readFile(join(root, page), 'utf8');
      const prose = text.replaceAll(/^```[\s\S]*?^```/gm, '');
      for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file ? join(root, dirname(page), file) : join(root, page);
        if (!(await exists(path))) {
          broken.push(`${page}: ${target} (no such file)`);
          continue;
        }
        if (anchor && !anchorsOf(await readFile(path, 'utf8')).has(anchor))
          broken.push(`${page}: ${target} (no heading #${anchor} in ${relative(root, path)})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
