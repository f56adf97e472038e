/**
 * The gateway's entry point, kept tiny so that its first lines run before
 * anything else loads. Until the gateway listens, SIGTERM and SIGINT end the
 * process at once (nothing is in flight yet); once it listens, serve.ts
 * drains instead (see `serve`).
 *
 * In the image tini is PID 1 and Node its child (see gateway/Dockerfile):
 * there a signal's default action ends Node at once, even while it is still
 * loading the gateway, so no handler is installed before listening. As PID 1
 * itself (a container run without tini), Node gets no default action from
 * the kernel: a signal with no handler is ignored, and a `docker stop` during
 * start-up would wait out its 10 s timeout and end in SIGKILL. There the
 * handlers are in place from the first line, and exit with code 0; they run
 * once the loading in progress is done.
 */
import type { serve as Serve, StopHandler } from './serve';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
let stop: StopHandler | undefined;
const onSignal = (signal: NodeJS.Signals) => (stop === undefined ? process.exit(0) : stop(signal));
const isInit = process.pid === 1;
if (isInit) for (const signal of SIGNALS) process.on(signal, onSignal);

// Required only now: as PID 1, with the signal handlers in place while it loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serve } = require('./serve') as { serve: typeof Serve };
serve(process.env, (handler) => {
  stop = handler;
  if (!isInit) for (const signal of SIGNALS) process.on(signal, onSignal);
});
