/**
 * Progress of a long CLI run on stderr (stdout may carry data): a bar redrawn in place on a
 * terminal, otherwise a plain line every tenth of the way (or every `every` items without a total).
 */
export function createProgress(label: string, options: { stream?: NodeJS.WriteStream; every?: number } = {}) {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const started = performance.now();
  let drawnAt = 0;
  let lastStep = -1;
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const number = (value: number) => value.toLocaleString('en-US');

  return {
    update(done: number, total: number | null, detail = '') {
      const fraction = total ? Math.min(1, done / total) : null;
      if (tty) {
        const now = performance.now();
        if (now - drawnAt < 100 && done !== total) return;
        drawnAt = now;
        const width = 30;
        const filled = Math.round((fraction ?? 0) * width);
        const bar =
          fraction === null
            ? ''
            : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% `;
        const of = total ? `/${number(total)}` : '';
        stream.write(`\r\x1b[K${label} ${bar}${number(done)}${of} ${detail} (${seconds()} s)`);
        return;
      }
      const step = fraction === null ? Math.floor(done / (options.every ?? 10_000)) : Math.floor(fraction * 10);
      if (step === lastStep) return;
      lastStep = step;
      const percent = fraction === null ? '' : ` (${Math.floor(fraction * 100)}%)`;
      stream.write(
        `${label}: ${number(done)}${total ? `/${number(total)}` : ''}${percent} ${detail} [${seconds()} s]\n`,
      );
    },
    /** Ends the bar's line on a terminal. */
    finish() {
      if (tty) stream.write('\n');
    },
    seconds,
  };
}
