// Small numeric helpers shared by the benchmark sections.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** max/mean and the coefficient of variation (std dev / mean) of per-node key counts. */
export function balance(counts) {
  const mean = counts.reduce((sum, c) => sum + c, 0) / counts.length;
  const variance = counts.reduce((sum, c) => sum + (c - mean) ** 2, 0) / counts.length;
  return { maxOverMean: Math.max(...counts) / mean, relStdDev: Math.sqrt(variance) / mean };
}

export const fixed = (value, digits = 3) => value.toFixed(digits);
export const percent = (value, digits = 1) => `${(value * 100).toFixed(digits)}%`;
export const perSecond = (value) => `${(value / 1e6).toFixed(2)} M/s`;
export const bytes = (value) =>
  value >= 1 << 20 ? `${(value / (1 << 20)).toFixed(2)} MiB` : `${(value / 1024).toFixed(0)} KiB`;

/** Prints rows (arrays of cells) as a Markdown table, so the output pastes into the README. */
export function printTable(title, header, rows) {
  console.log(`\n### ${title}\n`);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  console.log(line(header));
  console.log(line(header.map(() => '---')));
  for (const row of rows) console.log(line(row));
}
