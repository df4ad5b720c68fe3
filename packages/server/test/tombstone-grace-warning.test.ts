import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * The README's "tombstoneGrace must outlast maxHintAge": a hint replayed after a later delete's
 * tombstone expired brings the deleted value back. A node started otherwise says so, once.
 */
afterEach(() => stopCliNodes());

const WARNING = /tombstone-grace \(\d+ ms\) should outlast --max-hint-age/;

describe('a tombstone grace that does not outlast maxHintAge', () => {
  it('is warned of at start', async () => {
    const node = await startCliNode(['--tombstone-grace', '60000']);
    expect(node.output()).toMatch(WARNING);
    expect(node.output().match(new RegExp(WARNING.source, 'g'))).toHaveLength(1);
  });

  it('is not, with the defaults or a grace longer than the hint age', async () => {
    const defaults = await startCliNode([]);
    const longer = await startCliNode(['--tombstone-grace', '2000', '--max-hint-age', '1000']);
    expect(defaults.output()).not.toMatch(WARNING);
    expect(longer.output()).not.toMatch(WARNING);
  });
});
