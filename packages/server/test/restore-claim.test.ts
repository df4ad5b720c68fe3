import { describe, expect, it } from 'vitest';
import { RestoreClaim } from '../src/replication/restore-claim.js';

function claimAt(leaseMs: number) {
  let now = 0;
  const claim = new RestoreClaim(leaseMs, () => now);
  return { claim, at: (ms: number) => (now = ms) };
}

describe('RestoreClaim', () => {
  it('holds a claimant for its lease, renewed by each claim of its own', () => {
    const { claim, at } = claimAt(1000);
    expect(claim.claim('a')).toEqual({ granted: true, leaseMs: 1000 });
    at(400);
    expect(claim.claim('b')).toEqual({ granted: false, reason: 'claimed', retryAfterMs: 600 });
    expect(claim.claim('a')).toEqual({ granted: true, leaseMs: 1000 });
    at(1300);
    expect(claim.claim('b')).toEqual({ granted: false, reason: 'claimed', retryAfterMs: 100 });
    at(1400);
    expect(claim.claim('b')).toEqual({ granted: true, leaseMs: 1000 });
    // The first holder's lease lapsed and was taken: it neither renews nor ends it.
    expect(claim.claim('a').granted).toBe(false);
    expect(claim.end('a', 'done')).toBe(false);
  });

  it('lets a holder whose lease lapsed untaken renew or end it', () => {
    const { claim, at } = claimAt(1000);
    claim.claim('a');
    at(5000);
    expect(claim.renew('a')).toEqual({ granted: true, leaseMs: 1000 });
    at(5900);
    expect(claim.claim('b').granted).toBe(false);
    at(10_000);
    expect(claim.end('a', 'done')).toBe(true);
    expect(claim.renew('a')).toEqual({ granted: false, reason: 'restored' });
  });

  it('renews only a claim the claimant holds: never one that is free, released or taken', () => {
    const { claim, at } = claimAt(1000);
    // A fresh start (the node restarted under a restore): nobody holds it, and a renewal takes nothing.
    expect(claim.renew('a')).toEqual({ granted: false, reason: 'not_claimant' });
    expect(claim.claim('b').granted).toBe(true);
    expect(claim.renew('a')).toEqual({ granted: false, reason: 'not_claimant' });
    expect(claim.end('b', 'released')).toBe(true);
    // A renewal that arrives after its own release does not take the claim back.
    expect(claim.renew('b')).toEqual({ granted: false, reason: 'not_claimant' });
    at(100);
    expect(claim.claim('c').granted).toBe(true);
  });

  it('ends a claim: released frees it, done closes the start to everyone', () => {
    const { claim } = claimAt(1000);
    claim.claim('a');
    expect(claim.end('b', 'released')).toBe(false);
    expect(claim.end('a', 'released')).toBe(true);
    expect(claim.end('a', 'released')).toBe(false);
    expect(claim.claim('b').granted).toBe(true);
    expect(claim.end('b', 'done')).toBe(true);
    for (const claimant of ['a', 'b', undefined]) {
      expect(claim.claim(claimant)).toEqual({ granted: false, reason: 'restored' });
    }
    expect(claim.end('b', 'done')).toBe(false);
  });

  it('gives a claim without a claimant the start for good, once no lease holds', () => {
    const { claim, at } = claimAt(1000);
    claim.claim('a');
    expect(claim.claim(undefined).granted).toBe(false);
    at(2000);
    expect(claim.claim(undefined)).toEqual({ granted: true, leaseMs: undefined });
    expect(claim.claim('a')).toEqual({ granted: false, reason: 'restored' });
    expect(claim.claim(undefined)).toEqual({ granted: false, reason: 'restored' });
  });
});
