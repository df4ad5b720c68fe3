// Balance, movement and weight sections: statistics over many random sets of node names,
// because one set of names proves little (a ketama ring's max/mean swings by several percent
// from one set to the next).
import { HashRing } from '../dist/index.js';
import { nodeNames } from './names.js';
import { balance, median } from './stats.js';

function counts(owners, nodeCount) {
  const result = new Array(nodeCount).fill(0);
  for (const owner of owners) result[owner]++;
  return result;
}

/** Balance of one contender over `sets` random sets of `nodeCount` names. */
export function balanceOverSets(contender, input, random, { nodeCount, sets, vnodes }) {
  const maxOverMean = [];
  const relStdDev = [];
  for (let s = 0; s < sets; s++) {
    const nodes = nodeNames(random, nodeCount);
    const ring = contender.build(nodes, vnodes);
    const stats = balance(counts(contender.owners(ring, nodes, input), nodeCount));
    maxOverMean.push(stats.maxOverMean);
    relStdDev.push(stats.relStdDev);
  }
  return {
    medianMax: median(maxOverMean),
    worstMax: Math.max(...maxOverMean),
    medianStd: median(relStdDev),
  };
}

/** Fraction of keys changing owner when a 4th node joins 3, over `sets` random sets. */
export function movementOverSets(contender, input, random, sets) {
  const moved = [];
  for (let s = 0; s < sets; s++) {
    const nodes = nodeNames(random, 4);
    const before = contender.owners(contender.build(nodes.slice(0, 3)), nodes, input);
    const after = contender.owners(contender.build(nodes), nodes, input);
    let changed = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed++;
    moved.push(changed / before.length);
  }
  return { median: median(moved), worst: Math.max(...moved) };
}

/** Keys owned by a weight-2 node over those of a weight-1 node, over `sets` random pairs. */
export function weightRatioOverSets(keys, random, sets, vnodes) {
  const ratios = [];
  for (let s = 0; s < sets; s++) {
    const [heavy, light] = nodeNames(random, 2);
    const ring = new HashRing([], { vnodes });
    ring.add(heavy, 2);
    ring.add(light, 1);
    let heavyKeys = 0;
    for (const key of keys) if (ring.get(key) === heavy) heavyKeys++;
    ratios.push(heavyKeys / (keys.length - heavyKeys));
  }
  const errors = ratios.map((ratio) => Math.abs(ratio / 2 - 1));
  return { median: median(errors), worst: Math.max(...errors) };
}
