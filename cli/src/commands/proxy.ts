import { type Command, Option } from 'commander';
import { isLoopbackHost } from '@atlas/gateway/cross-site';
import { resolveTarget } from '../gateway-target';
import { describeSetup } from '../proxy/describe-setup';
import { DEFAULT_PROXY_PORT, parsePort, parseProxyTargets, ProxyUsageError } from '../proxy/proxy-targets';
import { type RunningProxies, startProxies } from '../proxy/start-proxies';

interface ProxyOptions {
  port: number;
  address: string;
  url?: string;
  token?: string;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** How long requests in flight may take to finish after Ctrl-C or SIGTERM. */
const SHUTDOWN_GRACE_MS = 5_000;

export function addProxyCommand(program: Command): void {
  program
    .command('proxy')
    .description(
      'serve adapters on 127.0.0.1 for unmodified tools: each request goes to the gateway with your Atlas token',
    )
    .argument('<name[:port]...>', 'the adapters to serve, each on its own port (a bare name takes --port)')
    .addOption(
      new Option('-p, --port <port>', 'the port of a bare name; 0 picks a free port')
        .default(DEFAULT_PROXY_PORT)
        .argParser(parsePort),
    )
    .option(
      '--address <address>',
      'the address to listen on; anything but loopback lets whoever reaches it use your token',
      '127.0.0.1',
    )
    .option('--url <url>', 'the gateway URL (default: ATLAS_URL, else `pulumi stack output url`)')
    .option('--token <token>', 'the access token (default: ATLAS_TOKEN, else `pulumi stack output accessToken`)')
    .addHelpText(
      'after',
      `
Requests to http://127.0.0.1:<port>/PATH go to <gateway>/v1/apis/http/<name>/PATH with
Authorization: Bearer <Atlas token>; the client's own Authorization (a placeholder key) is dropped.
Requests a web page of another site could make (foreign Host or Origin, Sec-Fetch-Site: cross-site)
are refused with 403. Ctrl-C or SIGTERM stops it (exit 0).

Exit codes: 0 stopped by a signal, 1 no URL or usable token, or the port is taken, 2 usage errors.

Examples:
  $ atlas proxy heroku &
  $ HEROKU_HOST=http://127.0.0.1:5000 HEROKU_API_KEY=atlas-proxy heroku apps
  $ atlas proxy heroku:5000 github:5001
  $ atlas proxy heroku --port 0     # any free port; the URL is printed`,
    )
    .action(async (names: string[], options: ProxyOptions, command: Command) => {
      let targets;
      try {
        targets = parseProxyTargets(names, options.port);
      } catch (error) {
        if (error instanceof ProxyUsageError) command.error(`error: ${error.message}`);
        throw error;
      }
      const target = resolveTarget(options);
      const gateway = parseGatewayUrl(target.url);
      const report = (line: string) => process.stderr.write(`atlas proxy: ${line}\n`);

      const running = await startProxies({
        targets,
        address: options.address,
        gateway,
        token: target.token,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        report,
      });
      // Handlers first: whoever reads the ready text may send a signal at once.
      const stopped = stopOnSignals(running);
      if (!isLoopbackHost(options.address)) {
        report(
          `listening on ${options.address}, not only on this machine: anyone who reaches it calls the gateway with your Atlas token`,
        );
      }
      process.stdout.write(describeSetup(running.proxies));
      await stopped;
    });
}

/** Resolves once the proxies are closed after Ctrl-C or SIGTERM; a second signal cuts what is left. */
function stopOnSignals(running: RunningProxies): Promise<void> {
  return new Promise((resolve) => {
    let signals = 0;
    const stop = () => {
      signals += 1;
      if (signals > 1) return running.closeNow();
      void running.close(SHUTDOWN_GRACE_MS).then(() => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function parseGatewayUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`the gateway URL "${raw}" is not an http(s) URL: use one such as https://atlas.example.com`);
  }
  return url;
}
