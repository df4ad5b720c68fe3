import { constants } from 'node:buffer';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * One read call moves at most this much (libuv's limit is just under 2 GiB), so files past
 * readFile's 2 GiB refusal are read in pieces.
 */
export const READ_CHUNK_BYTES = 1 << 30;

/** The biggest file a Buffer holds (4 GiB on 64-bit Node 20), so the biggest snapshot a restore reads. */
export const MAX_FILE_BYTES = constants.MAX_LENGTH;

/**
 * The whole of `path` in one Buffer, as readFile gives, but up to MAX_FILE_BYTES rather than
 * readFile's 2 GiB. Throws a RangeError naming the file when it is bigger, an Error when it is
 * not a regular file (a device such as /dev/null, a FIFO, a directory: opened without blocking,
 * so a FIFO does not wait for a writer), and the fs error when it cannot be read; a file that
 * shrinks while being read yields what was there.
 */
export async function readWholeFile(
  path: string,
  chunkBytes: number = READ_CHUNK_BYTES,
): Promise<Buffer> {
  const handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${path} is not a regular file`);
    const { size } = stats;
    if (size > MAX_FILE_BYTES) {
      throw new RangeError(
        `${path} is ${size} bytes, more than the ${MAX_FILE_BYTES} a Buffer holds`,
      );
    }
    const bytes = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const length = Math.min(chunkBytes, size - filled);
      const { bytesRead } = await handle.read(bytes, filled, length, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
