const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;

/**
 * Parses a byte size: a number of bytes, or a string such as "100mb", "1.5 GB" or "512k".
 * kb/mb/gb are powers of 1024, as in memcached's `-m`. Returns a whole number of bytes.
 * @param name the option being parsed, so the error names it.
 */
export function parseSize(name: string, input: number | string): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new RangeError(`${name} must be a whole number of bytes ≥ 0, got ${input}`);
    }
    return input;
  }
  if (typeof input !== 'string') {
    throw new TypeError(`${name} must be a number of bytes or a string like "100mb"`);
  }
  const match = SIZE.exec(input);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(
      `${name} must be bytes or a size like "512kb", "100mb", "1gb", got ${JSON.stringify(input)}`,
    );
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`${name} is too large: ${JSON.stringify(input)}`);
  }
  return bytes;
}

/** Formats bytes for humans (the CLI's listening line): "64 MiB", "1.5 GiB", "300 B". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[i]}`;
}
