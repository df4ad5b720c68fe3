/** A hand-driven clock for tests: time moves only when the test says so. */
export interface ManualClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function manualClock(start = 1_000_000): ManualClock {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}
