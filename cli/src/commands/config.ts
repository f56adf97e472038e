import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import {
  ConfigError,
  findNamedCallers,
  findPlaceholders,
  type ParsedAdapterFile,
  readAdapterFile,
  STACK_CALLERS_KEY,
} from '@atlas/gateway/config';
import { appendAdapter } from '../append-adapter';
import { parseHeader } from '../parse-header';
import { writeFileAtomically } from '../write-atomically';

export function addConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('edit and check Atlas config files (Atlas config or Pulumi stack config)')
    .addHelpText(
      'after',
      `
Examples:
  $ atlas config add-http-adapter -f atlas.yaml --adapter-name heroku --base-url https://api.heroku.com \\
      -H 'Authorization: Bearer \${{ HEROKU_API_KEY }}'
  $ atlas config validate -f atlas.yaml --env`,
    );

  config
    .command('add-http-adapter')
    .description('add an HTTP adapter to a config file; the change only adds lines')
    .requiredOption(
      '-f, --file <file>',
      'the config file: an Atlas config or a Pulumi stack config (Pulumi.<stack>.yaml)',
    )
    .requiredOption('--adapter-name <name>', 'the adapter name: lower-case letters, digits and -')
    .requiredOption('--base-url <url>', 'the upstream base URL, such as https://api.heroku.com')
    .option(
      '-H, --header <header>',
      "a header to add, 'Name: value' (repeatable); single-quote ${{ VAR }}",
      parseHeader,
      [],
    )
    .option(
      '--hostname <name>',
      'a host name the gateway also serves this adapter on, at the root (repeatable), such as heroku.atlas.example.com',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addHelpText(
      'after',
      `
Example:
  $ atlas config add-http-adapter -f Pulumi.dev.yaml --adapter-name heroku \\
      --base-url https://api.heroku.com \\
      -H 'Authorization: Bearer \${{ HEROKU_API_KEY }}' \\
      -H 'Accept: application/vnd.heroku+json; version=3'`,
    )
    .action(
      (options: {
        file: string;
        adapterName: string;
        baseUrl: string;
        header: { name: string; value: string }[];
        hostname: string[];
      }) => {
        const text = readText(options.file);
        const result = appendAdapter(text, options.file, {
          name: options.adapterName,
          baseUrl: options.baseUrl,
          headers: options.header,
          ...(options.hostname.length > 0 ? { hostnames: options.hostname } : {}),
        });
        writeFileAtomically(options.file, result.text);
        const lines = [`Added HTTP adapter "${result.adapter.name}" (${result.adapter.baseUrl}) to ${options.file}.`];
        const variables = [...new Set(result.adapter.headers.flatMap((header) => findPlaceholders(header.value)))];
        if (variables.length > 0) {
          lines.push('Next:');
          for (const variable of variables) {
            lines.push(
              result.format === 'pulumi-stack'
                ? `  pulumi config set --secret ${variable} <value>`
                : `  set the environment variable ${variable} in the Atlas deployment (locally: export ${variable}=<value>)`,
            );
          }
        }
        lines.push(`Then call it: atlas curl /v1/apis/http/${result.adapter.name}/`);
        for (const hostname of result.adapter.hostnames ?? []) {
          lines.push(
            `  or at https://${hostname}/ once DNS points ${hostname} at the gateway (see docs/deploy-and-operations.md)`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  config
    .command('validate')
    .description('check a config file against the adapter schema the gateway and Pulumi use')
    .requiredOption('-f, --file <file>', 'the config file')
    .option('--env', 'also report ${{ VAR }}s missing from the environment')
    .addHelpText('after', '\nExample:\n  $ atlas config validate -f Pulumi.dev.yaml --env')
    .action((options: { file: string; env?: boolean }) => {
      const parsed = readAdapterFile(options.file);
      for (const warning of parsed.warnings) process.stderr.write(`warning: ${warning}\n`);
      if (options.env) {
        const missing = parsed.adapters.flatMap((adapter) =>
          adapter.headers.flatMap((header) =>
            findPlaceholders(header.value)
              .filter((variable) => (process.env[variable] ?? '') === '')
              .map((variable) => ({
                where: `adapter "${adapter.name}", header ${header.name}`,
                message: `\${{ ${variable} }} is not set in the environment: export ${variable}=<value>`,
              })),
          ),
        );
        if (missing.length > 0) throw new ConfigError(`${options.file} references variables that are not set`, missing);
      }
      checkNamedCallers(parsed, options.file);
      for (const { type, where } of parsed.identityProviders.unsupported) {
        process.stderr.write(
          `warning: ${where}: identity provider type "${type}" is not supported; the gateway refuses to start with it unless it listens on loopback\n`,
        );
      }
      const names = parsed.adapters.map((adapter) => adapter.name).join(', ');
      const kind = parsed.format === 'atlas' ? 'Atlas config' : 'Pulumi stack config';
      const lines = [
        `${options.file}: valid ${kind}, ${parsed.adapters.length} adapter(s)${names ? `: ${names}` : ''}`,
      ];
      for (const { name, hostnames } of parsed.adapters) {
        if (hostnames !== undefined && hostnames.length > 0)
          lines.push(`${name}: also served at the root of ${hostnames.join(', ')}`);
      }
      for (const { name, access, rateLimit } of parsed.adapters) {
        if (access !== undefined) {
          const who = [...new Set(access.flatMap((rule) => rule.callers))].join(', ');
          lines.push(`${name}: access rules (${access.length}) for ${who}`);
        }
        if (rateLimit !== undefined) {
          const burst = rateLimit.burst === undefined ? '' : `, bursts of ${rateLimit.burst}`;
          lines.push(
            `${name}: ${rateLimit.requests} requests per ${rateLimit.perSeconds} s per caller${burst}, in each gateway task`,
          );
        }
      }
      for (const skipped of parsed.skipped) lines.push(`${skipped.name} (${skipped.kind}): not served by this gateway`);
      for (const { issuer, audience } of parsed.identityProviders.issuers) {
        lines.push(`callers: JWTs of ${issuer} for audience ${audience}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/**
 * The static callers access rules name must exist: in a stack config, in
 * `atlas:callers`; an Atlas config does not declare its callers (the
 * gateway's ATLAS_ACCESS_TOKENS does), so there they are only listed.
 */
function checkNamedCallers(parsed: ParsedAdapterFile, file: string): void {
  const named = findNamedCallers(parsed.adapters);
  const declared = parsed.callers;
  if (declared === undefined) {
    for (const { adapter, caller } of named) {
      process.stderr.write(
        `warning: adapter "${adapter}": its access rules name the static caller "${caller}": make sure the gateway's ATLAS_ACCESS_TOKENS has ${caller}=<token>\n`,
      );
    }
    return;
  }
  const unknown = named.filter(({ caller }) => !declared.includes(caller));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${file}: access rules name callers that ${STACK_CALLERS_KEY} does not list (${declared.join(', ')})`,
      unknown.map(({ adapter, caller }) => ({
        where: `adapter "${adapter}", access`,
        message: `caller "${caller}" does not exist: add it to ${STACK_CALLERS_KEY}, or correct the name`,
      })),
    );
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}`, [
      { where: file, message: `${(error as NodeJS.ErrnoException).code ?? (error as Error).message}: check the path` },
    ]);
  }
}
