import { describe, expect, it } from 'vitest';
import { planHints } from './hints.js';

describe('planHints: who missed a write and who keeps the hint', () => {
  it.each<[string, string[], string[], string[], string[]]>([
    // name, natural replicas, acknowledged, missed, hint holders in order
    ['every natural replica acknowledged', ['A', 'B'], ['A', 'B'], [], []],
    ['the primary failed', ['A', 'B'], ['B'], ['A'], ['B']],
    ['the primary down, a stand-in took it', ['A', 'B'], ['B', 'C'], ['A'], ['C', 'B']],
    ['both natural replicas down, stand-ins only', ['A', 'B'], ['C', 'D'], ['A', 'B'], ['C', 'D']],
    ['nothing acknowledged: stored nowhere', ['A', 'B'], [], [], []],
    ['three replicas, one missed', ['A', 'B', 'C'], ['A', 'C'], ['B'], ['A', 'C']],
  ])('%s', (_name, natural, acked, missed, holders) => {
    expect(planHints(natural, acked)).toStrictEqual({ missed, holders });
  });
});
