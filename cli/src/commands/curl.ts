import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { resolveTarget } from '../gateway-target';
import { parseHeader } from '../parse-header';
import { EXIT } from '../exit-codes';

interface CurlOptions {
  request?: string;
  header: { name: string; value: string }[];
  data?: string;
  dataBinary?: string;
  include?: boolean;
  url?: string;
  token?: string;
}

export function addCurlCommand(program: Command): void {
  program
    .command('curl')
    .description('call the gateway like curl, sending the Atlas token; the body goes to stdout unchanged')
    .argument('<path>', 'the gateway path, such as /v1/apis/http/heroku/account')
    .option('-X, --request <method>', 'the HTTP method (default GET, or POST with a body)')
    .option('-H, --header <header>', "a request header, 'Name: value' (repeatable)", parseHeader, [])
    .addOption(new Option('-d, --data <data>', 'a request body, sent as given').conflicts('dataBinary'))
    .option('--data-binary <data>', 'a request body; @FILE streams a file')
    .option('-i, --include', 'print the status line and response headers before the body')
    .option('--url <url>', 'the gateway URL (default: ATLAS_URL, else `pulumi stack output url`)')
    .option('--token <token>', 'the access token (default: ATLAS_TOKEN, else `pulumi stack output accessToken`)')
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 22 HTTP status 400 or above (the body is still printed, like curl --fail-with-body),
7 the gateway could not be reached, 1 other errors, 2 usage errors.

Examples:
  $ atlas curl /v1/apis/http/heroku/account
  $ atlas curl -i -X PATCH /v1/apis/http/heroku/apps/my-app -H 'Content-Type: application/json' -d '{"maintenance":true}'`,
    )
    .action(async (path: string, options: CurlOptions) => {
      process.exitCode = await curl(path, options);
    });
}

async function curl(path: string, options: CurlOptions): Promise<number> {
  const target = resolveTarget(options);
  const base = new URL(target.url);
  const url = new URL(path, base);
  if (url.origin !== base.origin)
    throw new Error(`refusing to send the Atlas token to ${url.origin}: pass a path such as /v1/apis`);

  const body = options.data ?? options.dataBinary;
  const headers: Record<string, string> = {};
  if (options.data !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  for (const { name, value } of options.header) headers[name.toLowerCase()] = value;
  headers.authorization = `Bearer ${target.token}`;

  const client = url.protocol === 'https:' ? https : http;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = client.request(
      url,
      { method: options.request ?? (body === undefined ? 'GET' : 'POST'), headers },
      resolve,
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        Object.assign(new Error(`cannot reach the gateway at ${base.origin}: ${error.code ?? error.message}`), {
          exitCode: EXIT.unreachable,
        }),
      );
    });
    if (body?.startsWith('@') && options.dataBinary !== undefined) {
      pipeline(createReadStream(body.slice(1)), request).catch((error: Error) => request.destroy(error));
    } else {
      request.end(body);
    }
  });

  if (options.include) {
    const head = [`HTTP/${response.httpVersion} ${response.statusCode} ${response.statusMessage}`];
    for (let i = 0; i < response.rawHeaders.length; i += 2)
      head.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
    process.stdout.write(`${head.join('\r\n')}\r\n\r\n`);
  }
  await pipeline(response, process.stdout, { end: false });
  return response.statusCode! >= 400 ? EXIT.httpError : EXIT.ok;
}
