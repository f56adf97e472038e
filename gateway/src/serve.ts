import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type DestinationStream, type Logger } from 'pino';
import { createAuthenticator } from './auth/authenticate';
import { type CallerAuth, resolveCallerAuth } from './auth/caller-auth';
import { createApp } from './app';
import { ConfigError } from './config/config-error';
import { loadAdapters } from './config/load-adapters';
import { findNamedCallers } from './config/schema';
import { describeSecretProblem, describeSecretValue, resolveAdapters, secretLocation } from './config/resolve-adapters';
import { guardRequests } from './last-resort';
import { createLogger, exitOnceLogged, logDestination } from './logger';
import { createAdminServer } from './metrics/admin-server';
import { createMetrics, type Metrics } from './metrics/metrics';
import { createBodyMemoryPacer } from './proxy/body-memory';
import { startServer } from './server';
import { inspectSettings, isLoopbackHost } from './settings';

export type StopHandler = (signal: NodeJS.Signals) => void;

/**
 * The process (see main.ts, which holds the signals): reads the environment
 * (here and nowhere else), refuses a bad configuration with every problem
 * listed, listens, and then hands `onStop` the handler that drains on
 * SIGTERM or SIGINT.
 */
export function serve(env: NodeJS.ProcessEnv, onStop: (handler: StopHandler) => void): void {
  main(env, onStop).catch(refuseToStart);
}

async function main(env: NodeJS.ProcessEnv, onStop: (handler: StopHandler) => void): Promise<void> {
  const refusals: ConfigError[] = [];
  const { settings, problems: settingsProblems } = inspectSettings(env);
  if (settingsProblems.length > 0)
    refusals.push(new ConfigError('the gateway environment is not valid', settingsProblems));
  const loaded = collectRefusal(refusals, () => loadAdapters(settings.adapterSource));
  const { adapters, problems: secretProblems } = resolveAdapters(loaded?.adapters ?? [], env);
  const local = isLoopbackHost(settings.host);
  if (secretProblems.length > 0 && !local) {
    refusals.push(
      new ConfigError(
        'adapters reference secrets that are not available',
        secretProblems.map((problem) => ({ where: secretLocation(problem), message: describeSecretValue(problem) })),
      ),
    );
  }
  const callers = resolveCallerAuth(settings.auth, settings.host, loaded?.identityProviders);
  if (callers.problems.length > 0) refusals.push(new ConfigError('callers cannot be authenticated', callers.problems));
  // Every problem at once: one fix-and-retry round, not one per problem.
  if (refusals.length === 1) throw refusals[0]!;
  if (refusals.length > 1) {
    throw new ConfigError(
      refusals.map((refusal) => refusal.summary).join('; '),
      refusals.flatMap((refusal) => refusal.problems),
    );
  }

  const terminal = process.stdout.isTTY === true;
  const logger = createLogger(settings.logLevel, terminal ? loadPrettyDestination() : undefined);
  logger.debug(
    {
      port: settings.port,
      host: settings.host,
      logLevel: settings.logLevel,
      shutdownGraceMs: settings.shutdownGraceMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      adapters: adapters.map(({ name, baseUrl, timeoutMs, bodyIdleTimeoutMs, allowedMethods }) => ({
        name,
        baseUrl,
        timeoutMs,
        bodyIdleTimeoutMs,
        allowedMethods: allowedMethods && [...allowedMethods],
      })),
    },
    'settings',
  );
  const { skipped, warnings } = loaded!;
  for (const warning of [...warnings, ...callers.warnings]) logger.warn(warning);
  for (const { name, kind } of skipped) {
    logger.warn(`adapter "${name}" has kind ${kind}: this gateway serves HTTP adapters only, so it is skipped`);
  }
  for (const problem of secretProblems) {
    logger.warn(`${describeSecretProblem(problem)}. Until then its requests get 503 adapter_unavailable.`);
  }
  for (const adapter of adapters) {
    if (adapter.target.protocol === 'http:' && !isLoopbackHost(adapter.target.hostname)) {
      logger.warn(
        `adapter "${adapter.name}" uses plain http: its credentials cross the network unencrypted; use https`,
      );
    }
  }
  const tokenCallers = new Set(callers.auth.accessTokens.map(({ caller }) => caller));
  for (const { adapter, caller } of findNamedCallers(loaded!.adapters)) {
    if (!tokenCallers.has(caller)) {
      logger.warn(
        `adapter "${adapter}": its access rules name the caller "${caller}", which no ATLAS_ACCESS_TOKENS entry names (${caller}=<token>): those rules match nobody`,
      );
    }
  }
  if (callers.auth.disabled) {
    logger.warn(
      "CALLER AUTHENTICATION IS OFF (ATLAS_AUTH=none): any local process can use the adapters' credentials. Set ATLAS_ACCESS_TOKENS to turn it on.",
    );
  }

  // `gc` exists when node runs with --expose-gc, as the image's CMD starts it.
  const collect = globalThis.gc;
  if (collect === undefined) {
    logger.info('node runs without --expose-gc: buffers of large bodies are freed when V8 next collects garbage');
  }
  const metrics = createMetrics(settings.metrics.service);
  const app = createApp({
    metrics,
    adapters,
    authenticate: createAuthenticator(callers.auth),
    skipped,
    logger,
    bodyMemory: collect && createBodyMemoryPacer(() => collect({ type: 'minor' })),
  });
  const running = await startServer(app, settings, logger);
  guardRequests(logger);
  // http-proxy-middleware watches the server's 'close' once per adapter proxy.
  running.server.setMaxListeners(10 + adapters.length);
  // EMF documents are for CloudWatch: a terminal gets readable logs, and /metrics when the admin port is on.
  const emf = terminal ? undefined : startEmfWriter(metrics, settings.metrics.intervalMs, logger);
  const admin = settings.metrics.admin && (await startAdminListener(metrics, settings.metrics.admin, logger));
  // Listening is announced last: by then the admin listener is up too.
  logger.info(
    {
      url: running.url,
      configSource: loaded!.source,
      adapters: adapters.map(({ name, baseUrl, hostnames, unavailable }) => ({
        name,
        baseUrl,
        ...(hostnames.length > 0 ? { hostnames } : {}),
        available: unavailable === undefined,
      })),
      auth: describeAuth(callers.auth),
    },
    'Atlas gateway listening',
  );

  let stopping = false;
  onStop((signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: settings.shutdownGraceMs }, 'shutting down: draining in-flight requests');
    void running.shutdown().then(() => {
      // The figures of the last, partial interval are written too.
      emf?.stop();
      admin?.close();
      logger.info('stopped');
      exitOnceLogged(logger, 0);
    });
  });
}

/**
 * Writes the metrics of each interval as EMF documents, one JSON line each,
 * into the log stream (so they never interleave with log lines), whatever
 * the log level: CloudWatch Logs turns them into metrics with no agent.
 */
function startEmfWriter(metrics: Metrics, intervalMs: number, logger: Logger): { stop(): void } {
  const stream = logDestination(logger);
  const flush = () => {
    const documents = metrics.takeEmfDocuments();
    if (documents.length > 0) stream.write(`${documents.join('\n')}\n`);
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}

/** The admin listener (`GET /metrics`); prom-client loads only here. */
async function startAdminListener(
  metrics: Metrics,
  { port, host }: { port: number; host: string },
  logger: Logger,
): Promise<http.Server> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createPrometheusRegistry } = require('./metrics/prometheus') as typeof import('./metrics/prometheus');
  const server = createAdminServer(createPrometheusRegistry(metrics));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  if (!isLoopbackHost(host)) {
    logger.warn(`the admin listener on ${host} serves metrics to whoever reaches it: keep it off public networks`);
  }
  logger.info({ url }, 'metrics listening');
  return server;
}

/**
 * On a terminal, readable coloured lines through pino-pretty, a development
 * dependency: where it is not installed (the image), the JSON lines stay.
 */
function loadPrettyDestination(): DestinationStream | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
  } catch {
    return undefined;
  }
}

function describeAuth(auth: CallerAuth): string[] {
  if (auth.disabled) return ['none'];
  return [
    ...(auth.accessTokens.length > 0
      ? [`callers ${[...new Set(auth.accessTokens.map(({ caller }) => caller))].join(', ')} (static tokens)`]
      : []),
    ...auth.issuers.map(({ issuer, audience }) => `JWTs of ${issuer} for audience ${audience}`),
  ];
}

/** Runs `read`; a ConfigError it throws is added to `refusals` (and the result is undefined). */
function collectRefusal<T>(refusals: ConfigError[], read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    refusals.push(error);
    return undefined;
  }
}

/**
 * Refuses to start: one JSON log line on stdout (CloudWatch keeps it as one
 * event), with the problems as an array, and exit code 1. On a terminal, the
 * same as readable text on stderr too.
 */
function refuseToStart(error: unknown): void {
  const logger = createLogger('info', pino.destination({ dest: 1, sync: true }));
  let text: string;
  if (error instanceof ConfigError) {
    logger.fatal({ problems: error.problems }, `cannot start: ${error.summary}`);
    text = error.message;
  } else {
    const { code, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
    if (code === 'EADDRINUSE') {
      text = `port ${port} on ${address} is already in use; set PORT to a free port`;
      logger.fatal(`cannot start: ${text}`);
    } else {
      text = (error as Error).stack ?? String(error);
      logger.fatal({ err: error }, 'cannot start: unexpected error');
    }
  }
  if (process.stderr.isTTY) process.stderr.write(`atlas gateway: cannot start: ${text}\n`);
  process.exit(1);
}
