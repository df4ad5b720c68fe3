// Argument checks for HashRing's methods: every public entry point validates here so the
// messages stay uniform and the hot path stays readable.

export function checkNodeId(node: unknown, method: string): asserts node is string {
  if (typeof node !== 'string') {
    throw new TypeError(`HashRing.${method}: node id must be a string, got ${typeof node}`);
  }
  if (node.length === 0) throw new RangeError(`HashRing.${method}: node id must not be empty`);
}

export function checkWeight(weight: unknown): asserts weight is number {
  if (typeof weight !== 'number') {
    throw new TypeError(`HashRing.add: weight must be a number, got ${typeof weight}`);
  }
  if (!(weight > 0) || !Number.isFinite(weight)) {
    throw new RangeError(`HashRing.add: weight must be a finite number > 0, got ${weight}`);
  }
}

export function checkKey(key: unknown, method: string): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`HashRing.${method}: key must be a string, got ${typeof key}`);
  }
}

export function checkCount(n: unknown, method: string): asserts n is number {
  if (typeof n !== 'number') {
    throw new TypeError(`HashRing.${method}: n must be a number, got ${typeof n}`);
  }
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`HashRing.${method}: n must be a non-negative integer, got ${n}`);
  }
}
