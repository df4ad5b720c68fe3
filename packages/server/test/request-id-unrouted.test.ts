import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

afterEach(() => stopCliNodes());

/** The README: `requestId` is logged only when it is 1–128 printable ASCII characters without spaces. */
describe('request ids of requests no route takes (404, 405)', () => {
  it('are left out of JSON and plain lines unless usable, as for every other refusal', async () => {
    for (const format of ['json', 'plain'] as const) {
      const node = await startCliNode(['--log-format', format, '--log-level', 'debug']);
      const spaced = 'forged) 2026-12-07T00:00:00.000Z error fake';
      const long = 'x'.repeat(200);
      expect(
        (await fetch(`${node.url}/nope`, { headers: { 'x-request-id': spaced } })).status,
      ).toBe(404);
      expect(
        (await fetch(`${node.url}/v1/flush`, { headers: { 'x-request-id': long } })).status,
      ).toBe(405);
      expect(await node.stop('SIGTERM')).toBe(0);
      const output = node.output();
      expect(output).toContain('404 GET /nope: no route');
      expect(output).toContain('GET is not allowed on /v1/flush');
      expect(output).not.toContain('forged');
      expect(output).not.toContain(long);
    }
  });
});
