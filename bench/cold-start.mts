import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startProcess } from './processes.mts';
import { atlasEnvironment, type Checkout, type Secrets } from './targets.mts';

/**
 * Milliseconds from spawning the gateway (as its image does) to the first 200
 * from /healthz, polled every 2 ms on fresh connections. The adapter's
 * upstream need not be up: start-up does not contact it.
 */
export async function timeColdStart(checkout: Checkout, upstreamUrl: string, secrets: Secrets): Promise<number> {
  const port = await freePort();
  const env = atlasEnvironment(upstreamUrl, port, secrets);
  const start = performance.now();
  const gateway = startProcess('atlas (cold start)', process.execPath, [...checkout.nodeOptions, checkout.main], {
    env,
    cwd: checkout.dir,
  });
  try {
    for (;;) {
      if (gateway.exited()) throw new Error(`the gateway exited during start-up:\n${gateway.stderrTail()}`);
      if ((await healthStatus(port)) === 200) return performance.now() - start;
      if (performance.now() - start > 30_000) throw new Error('the gateway did not answer /healthz within 30 s');
      await sleep(2);
    }
  } finally {
    await gateway.stop();
  }
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
  });
}
