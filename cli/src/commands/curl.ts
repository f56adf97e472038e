import { type FileHandle, open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { resolveGatewayUrl } from '../client';
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
  let url: URL;
  try {
    url = resolveGatewayUrl(base, path);
  } catch (error) {
    throw new Error(`${(error as Error).message}; pass a path such as /v1/apis`, { cause: error });
  }

  const body = options.data ?? options.dataBinary;
  const headers: Record<string, string> = {};
  if (options.data !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  for (const { name, value } of options.header) headers[name.toLowerCase()] = value;
  headers.authorization = `Bearer ${target.token}`;

  // Opened before connecting, so a missing file is reported as such and nothing is sent.
  const upload = options.dataBinary?.startsWith('@') ? await openUpload(options.dataBinary.slice(1)) : undefined;
  if (upload?.length !== undefined) headers['content-length'] = String(upload.length);

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
    if (upload !== undefined) {
      pipeline(upload.stream, request).catch((error: Error) => request.destroy(error));
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

async function openUpload(file: string): Promise<{ stream: Readable; length: number | undefined }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new Error(`cannot read ${file} for --data-binary: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      cause: error,
    });
  }
  const stats = await handle.stat();
  // A regular file's size is known up front; a pipe's is not, so it goes chunked.
  return { stream: handle.createReadStream(), length: stats.isFile() ? stats.size : undefined };
}
