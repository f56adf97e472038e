import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, exitOnceLogged } from '../../gateway/src/logger';
import { REPO_ROOT } from '../helpers/gateway';
import { within } from '../helpers/process-wait';

/**
 * The line logged just before the gateway exits ("stopped", or the fatal
 * error that ends it) must be written before the process ends: it is the one
 * that says why.
 */

/** A destination that takes `delayMs` to write each chunk, or never finishes one. */
function slowSink(delayMs: number | 'never'): { sink: Writable; written: string[] } {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (delayMs === 'never') return;
      setTimeout(() => {
        written.push(chunk.toString('utf8'));
        callback();
      }, delayMs);
    },
  });
  return { sink, written };
}

test('logger.flush calls back before a slow destination has written the last line, which is why exitOnceLogged exists', () => {
  const { sink, written } = slowSink(50);
  const logger = createLogger('info', sink);
  logger.info('stopped');
  let flushed = false;
  logger.flush(() => (flushed = true));
  expect(flushed).toBe(true);
  expect(written).toEqual([]);
});

test('exitOnceLogged exits with the code only once the last line is written', async () => {
  const { sink, written } = slowSink(50);
  const logger = createLogger('info', sink);
  logger.info('stopped');
  const exited = new Promise<number>((resolve) => exitOnceLogged(logger, 3, resolve));
  expect(written).toEqual([]);
  expect(await within(exited, 5_000, 'the exit')).toBe(3);
  expect(written.join('')).toContain('"msg":"stopped"');
});

test('exitOnceLogged exits all the same after waitMs when the destination never drains', async () => {
  const { sink } = slowSink('never');
  const logger = createLogger('info', sink);
  logger.info('stopped');
  const started = performance.now();
  const code = await within(
    new Promise<number>((resolve) => exitOnceLogged(logger, 1, resolve, 100)),
    5_000,
    'the exit',
  );
  expect(code).toBe(1);
  expect(performance.now() - started).toBeGreaterThanOrEqual(90);
});

test('a real process logging to a stdout pipe that is read late exits with its code after its last line, every line whole and in order', async () => {
  // The compiled logger (npm test builds gateway/dist), logging as the gateway does: to fd 1, asynchronously.
  const logger = path.join(REPO_ROOT, 'gateway/dist/logger.js');
  const script = `
    const { createLogger, exitOnceLogged } = require(${JSON.stringify(logger)});
    const logger = createLogger('info');
    for (let i = 0; i < 5000; i += 1) logger.info({ i, pad: 'x'.repeat(200) }, 'line');
    logger.info('stopped');
    exitOnceLogged(logger, 3);
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Some 1.3 MB, far more than a pipe holds: the writes wait for this reader.
  child.stdout.pause();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  setTimeout(() => {
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stdout.resume();
  }, 300);
  const [code] = (await within(once(child, 'close'), 15_000, 'the exit')) as [number | null];
  expect(code).toBe(3);
  expect(stderr).toBe('');
  const lines = stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { i?: number; msg: string });
  expect(lines).toHaveLength(5001);
  expect(lines.slice(0, -1).map(({ i }) => i)).toEqual([...Array(5000).keys()]);
  expect(lines.at(-1)!.msg).toBe('stopped');
});
