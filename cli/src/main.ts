import { Command, CommanderError } from 'commander';
import { ConfigError } from '@atlas/gateway/config';
import { addApisCommands } from './commands/apis';
import { addConfigCommands } from './commands/config';
import { addCurlCommand } from './commands/curl';
import { addProxyCommand } from './commands/proxy';
import { EXIT } from './exit-codes';

export function createProgram(): Command {
  const program = new Command('atlas')
    .description('Configure Atlas adapters and call the Atlas gateway')
    .showHelpAfterError('(run with --help for usage)')
    // Subcommands inherit this: errors come back to run() instead of exiting.
    .exitOverride();
  addConfigCommands(program);
  addCurlCommand(program);
  addApisCommands(program);
  addProxyCommand(program);
  program.addHelpText(
    'after',
    `
Examples:
  $ atlas config add-http-adapter -f Pulumi.dev.yaml --adapter-name heroku \\
      --base-url https://api.heroku.com -H 'Authorization: Bearer \${{ HEROKU_API_KEY }}'
  $ atlas config validate -f Pulumi.dev.yaml
  $ atlas apis list
  $ atlas curl /v1/apis/http/heroku/account
  $ atlas proxy heroku    # then HEROKU_HOST=http://127.0.0.1:5000 HEROKU_API_KEY=atlas-proxy heroku apps

Run atlas <command> --help for a command's options.

Exit codes: 0 success, 1 failure (refused change, invalid file, request error), 2 usage error,
7 gateway unreachable, 22 HTTP status 400 or above.`,
  );
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander has already printed the usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`atlas: ${error.message}\n`);
      return EXIT.failure;
    }
    process.stderr.write(`atlas: ${(error as Error).message}\n`);
    return (error as { exitCode?: number }).exitCode ?? EXIT.failure;
  }
}
