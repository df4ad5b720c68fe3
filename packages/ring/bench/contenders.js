// The two rings under test behind one interface. Owner look-ups for the balance and movement
// sections go through each library's own lookup code: @dcache/ring's public get(), and
// hashring's find() over its continuum with its own md5 key positions computed once (md5 per
// key would make 1M keys × 90 rings take minutes; checkHashringShortcut proves it matches get()).
import Hashring from 'hashring';
import { HashRing } from '../dist/index.js';

export const ours = {
  name: '@dcache/ring',
  build(nodes, vnodes) {
    const ring = new HashRing(nodes, vnodes === undefined ? undefined : { vnodes });
    ring.get(''); // the table is built lazily: include that in build time
    return ring;
  },
  /** Per-key owners for `keys`, as indexes into `nodes`. */
  owners(ring, nodes, keys) {
    const index = new Map(nodes.map((node, i) => [node, i]));
    const owners = new Uint16Array(keys.length);
    for (let i = 0; i < keys.length; i++) owners[i] = index.get(ring.get(keys[i]));
    return owners;
  },
};

export const hashring = {
  name: 'hashring 3.2 (md5, ketama)',
  build(nodes) {
    return new Hashring(nodes);
  },
  /** `positions` must come from positionsFor(keys) */
  owners(ring, nodes, positions) {
    const index = new Map(nodes.map((node, i) => [node, i]));
    const owners = new Uint16Array(positions.length);
    for (let i = 0; i < positions.length; i++) {
      owners[i] = index.get(ring.ring[ring.find(positions[i])].server);
    }
    return owners;
  },
  positionsFor(keys) {
    const probe = new Hashring(['x']);
    return Float64Array.from(keys, (key) => probe.hashValue(key));
  },
};

export function checkHashringShortcut(nodes, keys, positions) {
  const ring = hashring.build(nodes);
  const viaFind = hashring.owners(ring, nodes, positions);
  for (let i = 0; i < keys.length; i++) {
    if (ring.get(keys[i]) !== nodes[viaFind[i]]) {
      throw new Error(`hashring shortcut disagrees with get() for ${keys[i]}`);
    }
  }
}
