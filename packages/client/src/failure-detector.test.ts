import { describe, expect, it } from 'vitest';
import { FailureDetector } from './failure-detector.js';
import type { Schedule } from './failure-detector.js';

/** A manual clock: scheduled probes run only when the test says so. */
function manualSchedule() {
  const due: { run: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (run, ms) => {
    const entry = { run, ms, cancelled: false };
    due.push(entry);
    return () => {
      entry.cancelled = true;
    };
  };
  const fire = async (): Promise<void> => {
    const entry = due.shift();
    if (entry === undefined) throw new Error('nothing scheduled');
    if (!entry.cancelled) entry.run();
    // Let the probe promise settle.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { due, schedule, fire };
}

const FAILED = new Error('connection refused');

describe('FailureDetector', () => {
  it('marks the node down only after `threshold` consecutive failures', () => {
    const { schedule } = manualSchedule();
    const detector = new FailureDetector({
      threshold: 3,
      probeInterval: 100,
      probe: () => Promise.resolve(true),
      schedule,
    });
    detector.recordFailure(FAILED);
    detector.recordFailure(FAILED);
    expect(detector.up).toBe(true);
    detector.recordSuccess();
    detector.recordFailure(FAILED);
    detector.recordFailure(FAILED);
    expect(detector.up).toBe(true);
    detector.recordFailure(FAILED);
    expect(detector.up).toBe(false);
  });

  it('probes every probeInterval while down, and comes back up when a probe succeeds', async () => {
    const { due, schedule, fire } = manualSchedule();
    const answers = [false, false, true];
    let probes = 0;
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 250,
      probe: () => Promise.resolve(answers[probes++]!),
      schedule,
    });
    detector.recordFailure(FAILED);
    expect(due.map((entry) => entry.ms)).toStrictEqual([250]);
    await fire();
    expect(detector.up).toBe(false);
    await fire();
    expect(detector.up).toBe(false);
    await fire();
    expect(probes).toBe(3);
    expect(detector.up).toBe(true);
    expect(detector.consecutiveFailures).toBe(0);
    expect(due).toHaveLength(0);
  });

  it('a successful request also brings a down node back and cancels its probe', () => {
    const { due, schedule } = manualSchedule();
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 10,
      probe: () => Promise.resolve(false),
      schedule,
    });
    detector.recordFailure(FAILED);
    detector.recordSuccess();
    expect(detector.up).toBe(true);
    expect(due[0]!.cancelled).toBe(true);
  });

  it('close() stops probing', async () => {
    const { due, schedule, fire } = manualSchedule();
    let probes = 0;
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 10,
      probe: () => Promise.resolve(++probes > 0 && false),
      schedule,
    });
    detector.recordFailure(FAILED);
    detector.close();
    expect(due[0]!.cancelled).toBe(true);
    await fire();
    expect(probes).toBe(0);
  });

  it('a probe still running when close() is called schedules no further probe', async () => {
    const { due, schedule } = manualSchedule();
    let answer: (ok: boolean) => void = () => undefined;
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 10,
      probe: () => new Promise<boolean>((resolve) => (answer = resolve)),
      schedule,
    });
    detector.recordFailure(FAILED);
    due.shift()!.run();
    detector.close();
    answer(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(due).toHaveLength(0);
    expect(detector.up).toBe(false);
  });

  it('a probe from an earlier outage, answering after the node went down again, starts no second probe chain', async () => {
    const { due, schedule } = manualSchedule();
    const answers: ((ok: boolean) => void)[] = [];
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 10,
      probe: () => new Promise<boolean>((resolve) => answers.push(resolve)),
      schedule,
    });
    detector.recordFailure(FAILED);
    due.shift()!.run();
    // Back (a request answered) and down again while that first probe is still out.
    detector.recordSuccess();
    detector.recordFailure(FAILED);
    expect(due).toHaveLength(1);
    answers[0]!(false);
    await new Promise((resolve) => setImmediate(resolve));
    // One probe scheduled, not two: each chain would repeat forever, and close() cancels one.
    expect(due.filter((entry) => !entry.cancelled)).toHaveLength(1);
    detector.close();
    expect(due.filter((entry) => !entry.cancelled)).toHaveLength(0);
  });

  it('the default timer does not keep the process alive', () => {
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 60_000,
      probe: () => Promise.resolve(false),
    });
    const before = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    detector.recordFailure(FAILED);
    // An unref'd timer is not reported as an active resource.
    expect(process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length).toBe(
      before,
    );
    detector.close();
  });

  it('calls onDown once, with the failure that tipped it, and onUp once when a probe succeeds', async () => {
    const { schedule, fire } = manualSchedule();
    const events: string[] = [];
    const answers = [false, true];
    const detector = new FailureDetector({
      threshold: 2,
      probeInterval: 10,
      probe: () => Promise.resolve(answers.shift()!),
      schedule,
      onDown: (error) => events.push(`down: ${error.message}`),
      onUp: () => events.push('up'),
    });
    detector.recordFailure(new Error('first'));
    expect(events).toStrictEqual([]);
    detector.recordFailure(new Error('second'));
    // Already down: more failures (requests that were on the wire) are not new transitions.
    detector.recordFailure(new Error('third'));
    expect(events).toStrictEqual(['down: second']);
    // The hook ran after the state changed: a hook reading it sees the node down.
    expect(detector.up).toBe(false);
    await fire();
    expect(events).toStrictEqual(['down: second']);
    await fire();
    expect(events).toStrictEqual(['down: second', 'up']);
    detector.recordSuccess();
    expect(events).toStrictEqual(['down: second', 'up']);
  });

  it('calls onUp when a request succeeds while the node is marked down', () => {
    const { schedule } = manualSchedule();
    const ups: boolean[] = [];
    const detector = new FailureDetector({
      threshold: 1,
      probeInterval: 10,
      probe: () => Promise.resolve(false),
      schedule,
      onUp: () => ups.push(detector.up),
    });
    detector.recordFailure(FAILED);
    detector.recordSuccess();
    expect(ups).toStrictEqual([true]);
  });
});
