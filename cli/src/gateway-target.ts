import { execFileSync } from 'node:child_process';

export interface GatewayTarget {
  readonly url: string;
  readonly token: string;
}

export interface TargetOptions {
  readonly url?: string;
  readonly token?: string;
}

/**
 * Where the gateway is and which token to send: the flags, else ATLAS_URL
 * and ATLAS_TOKEN, else the Pulumi stack's `url` and `accessToken` outputs
 * when the Pulumi CLI is installed. Says exactly what is missing otherwise.
 */
export function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv = process.env): GatewayTarget {
  const url = options.url ?? nonEmpty(env.ATLAS_URL) ?? stackOutput('url', false);
  const token = options.token ?? nonEmpty(env.ATLAS_TOKEN) ?? stackOutput('accessToken', true);
  const missing = [
    ...(url === undefined ? ['the gateway URL: pass --url or set ATLAS_URL (such as http://127.0.0.1:8080)'] : []),
    ...(token === undefined ? ['the access token: pass --token or set ATLAS_TOKEN'] : []),
  ];
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join('; and ')}. With the Pulumi CLI installed, a deployed stack's outputs are used instead (pulumi stack output url / accessToken, the default caller's token; another caller's is in pulumi stack output accessTokens --show-secrets).`,
    );
  }
  checkToken(token!);
  return { url: url!.replace(/\/+$/, ''), token: token! };
}

/**
 * The token travels in an HTTP header, which Node refuses to write with a
 * control character or anything past U+00FF in it: a pasted token with a
 * zero-width space or a line break would otherwise fail every request with
 * an error that blames the request.
 */
export function checkToken(token: string): void {
  if (token.trim() === '') {
    throw new Error('the access token is empty: pass --token or set ATLAS_TOKEN to the token the gateway accepts');
  }
  const at = token.search(/[^\t\x20-\x7e\x80-\xff]/);
  if (at !== -1) {
    const code = token.codePointAt(at)!.toString(16).toUpperCase().padStart(4, '0');
    throw new Error(
      `the access token has a character an HTTP header cannot carry (U+${code} at position ${at + 1}): copy the token again, without invisible characters or line breaks`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function stackOutput(name: string, secret: boolean): string | undefined {
  try {
    const value = execFileSync('pulumi', ['stack', 'output', name, ...(secret ? ['--show-secrets'] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    }).trim();
    return value === '' ? undefined : value;
  } catch {
    // No Pulumi CLI, no stack selected, or no such output.
    return undefined;
  }
}
