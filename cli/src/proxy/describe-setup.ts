import type { RunningProxy } from './start-proxies';

/** What Heroku tools are told their API key is; the proxy drops it and sends the Atlas token. */
export const PLACEHOLDER_KEY = 'atlas-proxy';

const HEROKU_ACCEPT = 'application/vnd.heroku+json; version=3';

/**
 * The start-up text for stdout: where each listener forwards, then settings
 * to paste. An adapter whose name contains "heroku" gets the Heroku CLI's and
 * heroku-client's; see docs/heroku-tools.md for what each variable turns off.
 */
export function describeSetup(proxies: readonly RunningProxy[]): string {
  const lines = proxies.map((proxy) => `Forwarding ${proxy.url} to ${proxy.forwardsTo}`);
  for (const proxy of proxies) {
    lines.push('');
    if (proxy.adapter.includes('heroku')) {
      lines.push(
        `Heroku CLI (${proxy.adapter}):`,
        `  export HEROKU_HOST=${proxy.url} HEROKU_API_KEY=${PLACEHOLDER_KEY}`,
        // Beside GET /account the CLI asks particleboard.heroku.com about delinquency (sent
        // here instead), and after each command it sends usage data and traces to
        // backboard.heroku.com, each with the key it holds: DISABLE_TELEMETRY=true stops
        // those (heroku 11.10). HEROKU_SKIP_ANALYTICS=1 does not: the background worker that
        // sends the usage data loads @oclif/core's config, not the CLI's, so never reads it.
        `  export HEROKU_PARTICLEBOARD_URL=${proxy.url} DISABLE_TELEMETRY=true`,
        '  heroku apps',
        'heroku-client:',
        `  new Heroku({ host: '${proxy.url}', token: '${PLACEHOLDER_KEY}' })`,
        'curl:',
        `  curl -H 'Accept: ${HEROKU_ACCEPT}' ${proxy.url}/account`,
      );
    } else {
      lines.push(`curl (${proxy.adapter}):`, `  curl ${proxy.url}/`);
    }
  }
  lines.push('', 'Ctrl-C stops the proxy.');
  return `${lines.join('\n')}\n`;
}
