import type { Command } from 'commander';
import { createAtlasClient } from '../client';
import { EXIT } from '../exit-codes';
import { resolveTarget } from '../gateway-target';

interface ApiEntry {
  readonly kind: string;
  readonly name: string;
  readonly baseUrl: string;
}

export function addApisCommands(program: Command): void {
  const apis = program
    .command('apis')
    .description("the gateway's adapters")
    .addHelpText('after', '\nExamples:\n  $ atlas apis list\n  $ atlas apis list --json');
  apis
    .command('list')
    .description('list the adapters the gateway serves')
    .option('--json', 'print the JSON the gateway returns')
    .option('--url <url>', 'the gateway URL (default: ATLAS_URL, else `pulumi stack output url`)')
    .option('--token <token>', 'the access token (default: ATLAS_TOKEN, else `pulumi stack output accessToken`)')
    .addHelpText(
      'after',
      '\nExample:\n  $ atlas apis list\n  KIND  NAME    BASE URL\n  HTTP  heroku  https://api.heroku.com',
    )
    .action(async (options: { json?: boolean; url?: string; token?: string }) => {
      const target = resolveTarget(options);
      const client = createAtlasClient(target);
      const response = await client.fetch('/v1/apis').catch((error: Error) => {
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is in its cause.
        const cause = error.cause as NodeJS.ErrnoException | undefined;
        const reason = cause?.code ?? cause?.message ?? error.message;
        const message = `cannot reach the gateway at ${new URL(target.url).origin}: ${reason}`;
        throw Object.assign(new Error(message, { cause: error }), { exitCode: EXIT.unreachable });
      });
      const text = await response.text();
      if (!response.ok) {
        process.stderr.write(`atlas: the gateway answered ${response.status}: ${text}\n`);
        process.exitCode = EXIT.httpError;
        return;
      }
      if (options.json) {
        process.stdout.write(`${text}\n`);
        return;
      }
      process.stdout.write(formatTable(JSON.parse(text) as ApiEntry[]));
    });
}

function formatTable(entries: readonly ApiEntry[]): string {
  const rows = [['KIND', 'NAME', 'BASE URL'], ...entries.map((entry) => [entry.kind, entry.name, entry.baseUrl])];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  return (
    rows.map((row) => `${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`.trimEnd()).join('\n') +
    '\n'
  );
}
