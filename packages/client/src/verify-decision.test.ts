import { describe, expect, it } from 'vitest';
import { judgeUnverified } from './verify-decision.js';
import type { PeerAnswer, Verdict } from './verify-decision.js';

const hit = (stamp: number, unverified = false): PeerAnswer => ({ kind: 'hit', stamp, unverified });
const miss = (tombstone: number | undefined, floor = 0): PeerAnswer => ({
  kind: 'miss',
  tombstone,
  floor,
});

describe('judgeUnverified: an unverified entry stamped 100 against one peer', () => {
  it.each<[string, PeerAnswer, Verdict]>([
    ['the peer failed', { kind: 'failed' }, 'ask-next'],
    ['the peer is unverified too, newer', hit(200, true), 'ask-next'],
    ['the peer is unverified too, same', hit(100, true), 'ask-next'],
    ['a newer hit', hit(101), 'peer-newer'],
    ['the same stamp', hit(100), 'same'],
    ['an older hit', hit(99), 'own-newer'],
    ['a tombstone above', miss(150), 'deleted'],
    ['a tombstone at the same stamp', miss(100), 'deleted'],
    ['a tombstone below, floor low', miss(50, 10), 'own-newer'],
    ['a tombstone below, floor at the stamp', miss(50, 100), 'doubtful'],
    ['no tombstone, floor below', miss(undefined, 99), 'own-newer'],
    ['no tombstone, floor at the stamp', miss(undefined, 100), 'doubtful'],
    ['no tombstone, floor above', miss(undefined, 500), 'doubtful'],
    ['no tombstone, no floor (an old node)', miss(undefined), 'own-newer'],
  ])('%s: %s', (_name, peer, verdict) => {
    expect(judgeUnverified(100, peer)).toBe(verdict);
  });

  it('never serves the unverified value when the peer holds anything newer, dead or alive', () => {
    for (let peerStamp = 101; peerStamp < 110; peerStamp++) {
      expect(judgeUnverified(100, hit(peerStamp))).toBe('peer-newer');
      expect(judgeUnverified(100, miss(peerStamp))).toBe('deleted');
    }
  });

  it.each<[string, PeerAnswer, Verdict]>([
    ['a newer hit refutes it', hit(101), 'peer-newer'],
    ['a tombstone at or above refutes it', miss(100), 'deleted'],
    ['the same stamp does not vouch', hit(100), 'ask-next'],
    ['an older hit does not vouch', hit(99), 'ask-next'],
    ['a miss without tombstone does not vouch', miss(undefined), 'ask-next'],
    ['a miss above its floor does not vouch', miss(undefined, 500), 'ask-next'],
    ['an older tombstone does not vouch', miss(50), 'ask-next'],
  ])('a peer that is not a natural replica: %s', (_name, peer, verdict) => {
    expect(judgeUnverified(100, peer, false)).toBe(verdict);
  });
});
