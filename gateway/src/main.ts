/**
 * The gateway's entry point, kept tiny so that its first lines run before
 * anything else loads: it takes SIGTERM and SIGINT at once. In a container
 * without an init process Node is PID 1, and a signal with no handler is
 * ignored there; a `docker stop` during start-up would otherwise wait out
 * its 10 s timeout and end in SIGKILL. A signal before the gateway listens
 * ends the process at once with exit code 0 (nothing is in flight yet);
 * once it listens, serve.ts drains instead (see `serve`).
 */
import type { serve as Serve, StopHandler } from './serve';

let stop: StopHandler = () => process.exit(0);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (received) => stop(received));

// Required only now, so that the signal handlers are in place while it loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serve } = require('./serve') as { serve: typeof Serve };
serve(process.env, (handler) => {
  stop = handler;
});
