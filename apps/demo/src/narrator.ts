/** The walkthrough's voice: numbered sections, steps, results and aligned tables, on one stream. */

export interface Writable {
  write(text: string): unknown;
}

export type Cell = string | number;

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  green: [32, 39],
  red: [31, 39],
  cyan: [36, 39],
} as const;
type Style = keyof typeof STYLES;

export class Narrator {
  readonly #out: Writable;
  readonly #color: boolean;
  /** Shared with the narrators `until()` derives, so sections number on across them. */
  #sections = { count: 0 };

  /** `color` defaults to on for a terminal, off for pipes and files and when NO_COLOR is set. */
  constructor(out: Writable & { isTTY?: boolean } = process.stdout, color?: boolean) {
    this.#out = out;
    this.#color = color ?? (out.isTTY === true && process.env.NO_COLOR === undefined);
  }

  /** "\n== 3. Title ==" — tests look for these headings. */
  section(title: string): void {
    this.#sections.count += 1;
    this.#line('');
    this.#line(this.#paint('bold', `== ${this.#sections.count}. ${title} ==`));
  }

  /**
   * The same voice (stream, colour, section numbers) that falls silent once `open()` is false: for
   * work a Ctrl-C cuts short, which carries on in the background and must not narrate steps the
   * demo no longer takes under its Stopping report.
   */
  until(open: () => boolean): Narrator {
    const gated = new Narrator(
      { write: (text: string) => (open() ? this.#out.write(text) : undefined) },
      this.#color,
    );
    gated.#sections = this.#sections;
    return gated;
  }

  /** Plain explanatory prose. */
  say(text: string): void {
    this.#line(text);
  }

  /** Something the demo is about to do, shown as the code or command it runs. */
  step(text: string): void {
    this.#line(`  ${this.#paint('cyan', '>')} ${text}`);
  }

  /** What came back. */
  result(text: string): void {
    this.#line(`    ${this.#paint('dim', '=')} ${text}`);
  }

  ok(text: string): void {
    this.#line(`  ${this.#paint('green', 'ok')} ${text}`);
  }

  fail(text: string): void {
    this.#line(`  ${this.#paint('red', 'FAIL')} ${text}`);
  }

  /** A table with a header row; numbers are right-aligned, text left-aligned. */
  table(headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
    const widths = headers.map((header, column) =>
      Math.max(header.length, ...rows.map((row) => String(row[column] ?? '').length)),
    );
    const render = (cells: readonly Cell[]): string =>
      cells
        .map((cell, column) => {
          const text = String(cell);
          const width = widths[column] ?? text.length;
          return typeof cell === 'number' || /^[\d.,]+ ?(%|B|KiB|MiB|GiB)?$/.test(text)
            ? text.padStart(width)
            : text.padEnd(width);
        })
        .join('  ')
        .trimEnd();
    this.#line(`    ${this.#paint('bold', render(headers))}`);
    this.#line(`    ${widths.map((width) => '-'.repeat(width)).join('  ')}`);
    for (const row of rows) this.#line(`    ${render(row)}`);
  }

  #paint(style: Style, text: string): string {
    if (!this.#color) return text;
    const [on, off] = STYLES[style];
    return `\x1b[${on}m${text}\x1b[${off}m`;
  }

  #line(text: string): void {
    this.#out.write(`${text}\n`);
  }
}

/** 1536 → "1.5 KiB"; powers of 1024, as the nodes' --max-memory. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 0.8333 → "83.3%". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

const COUNTS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** 3 → "three"; digits past nine. `--ports` may name more nodes than the default three. */
export function spellCount(n: number): string {
  return COUNTS[n] ?? String(n);
}
