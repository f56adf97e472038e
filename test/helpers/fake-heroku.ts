import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { close, listen } from './http';

export const HEROKU_ACCEPT = 'application/vnd.heroku+json; version=3';

export interface HerokuApp {
  readonly id: string;
  readonly name: string;
  readonly region: { readonly name: string };
  readonly created_at: string;
}

/** One request as the fake received it, before it decided how to answer. */
export interface HerokuRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
}

export interface FakeHeroku {
  readonly url: string;
  /** Every request received, including refused ones. */
  readonly seen: HerokuRequest[];
  /** The account `GET /account` serves, exactly as serialized on the wire. */
  readonly accountBody: string;
  readonly accountEtag: string;
  /** Every app, in `id` order: what a complete walk of `GET /apps` must yield. */
  readonly apps: readonly HerokuApp[];
  close(): Promise<void>;
}

const DEFAULT_MAX = 200;

/**
 * A stand-in for the Heroku Platform API: it refuses requests that lack the
 * token it was started with or the version-3 Accept header (so only a
 * gateway that injects both gets through), and answers `GET /account` with
 * ETags, `GET /apps` with Heroku's Range pagination, and `PATCH /apps/:name`
 * with the app and the JSON body merged (an unknown app: Heroku's 404).
 */
export async function startFakeHeroku(options: { token: string; appCount?: number }): Promise<FakeHeroku> {
  const seen: HerokuRequest[] = [];
  const apps = makeApps(options.appCount ?? 5);
  const accountBody = JSON.stringify(ACCOUNT);
  const accountEtag = `"${createHash('sha256').update(accountBody).digest('hex').slice(0, 32)}"`;
  let remaining = 4500;

  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders });
    // Heroku sends both on every response, errors included.
    res.setHeader('RateLimit-Remaining', String(remaining--));
    res.setHeader('Request-Id', randomUUID());

    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return sendJson(res, 401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
    }
    if (req.headers.accept !== HEROKU_ACCEPT) {
      return sendJson(res, 400, {
        id: 'bad_request',
        message: `Please specify a version along with Heroku's API MIME type. For example, \`Accept: ${HEROKU_ACCEPT}\`.`,
      });
    }
    const path = req.url!.split('?')[0];
    if (req.method === 'GET' && path === '/account') return serveAccount(req, res, accountBody, accountEtag);
    if (req.method === 'GET' && path === '/apps') return serveApps(req, res, apps);
    const patched = /^\/apps\/([^/]+)$/.exec(path!);
    if (req.method === 'PATCH' && patched) return void patchApp(req, res, apps, decodeURIComponent(patched[1]!));
    return sendJson(res, 404, { id: 'not_found', message: 'The requested API endpoint was not found.' });
  });
  const url = await listen(server);
  return { url, seen, accountBody, accountEtag, apps, close: () => close(server) };
}

function serveAccount(req: IncomingMessage, res: ServerResponse, body: string, etag: string): void {
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Heroku Range pagination: `Range: id <start>..; max=<n>` where a start of
 * `]x` means "after x". A page that is not the last answers 206 with
 * `Next-Range` naming where the next page starts.
 */
function serveApps(req: IncomingMessage, res: ServerResponse, apps: readonly HerokuApp[]): void {
  const range = parseRange(req.headers.range);
  if (range === 'invalid') {
    return sendJson(res, 400, { id: 'bad_request', message: 'Invalid Range header.' });
  }
  const startAt =
    range.start === '' ? 0 : apps.findIndex((app) => (range.exclusive ? app.id > range.start : app.id >= range.start));
  const page = startAt === -1 ? [] : apps.slice(startAt, startAt + range.max);
  const last = startAt === -1 || startAt + range.max >= apps.length;
  const body = JSON.stringify(page);
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Accept-Ranges': 'id, name',
  };
  if (page.length > 0) headers['Content-Range'] = `id ${page[0]!.id}..${page.at(-1)!.id}; max=${range.max}`;
  if (!last) headers['Next-Range'] = `id ]${page.at(-1)!.id}..; max=${range.max}`;
  res.writeHead(last ? 200 : 206, headers);
  res.end(body);
}

/** Merges the JSON body into the app named (or identified) in the path and answers the result; nothing is stored. */
async function patchApp(
  req: IncomingMessage,
  res: ServerResponse,
  apps: readonly HerokuApp[],
  nameOrId: string,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const app = apps.find((candidate) => candidate.name === nameOrId || candidate.id === nameOrId);
  if (app === undefined) return sendJson(res, 404, { id: 'not_found', message: "Couldn't find that app." });
  let changes: unknown;
  try {
    changes = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    changes = undefined;
  }
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    return sendJson(res, 400, { id: 'bad_request', message: 'Request body must be a JSON object.' });
  }
  sendJson(res, 200, { ...app, ...changes, updated_at: '2024-02-01T12:00:00Z' });
}

function parseRange(header: string | undefined): { start: string; exclusive: boolean; max: number } | 'invalid' {
  if (header === undefined) return { start: '', exclusive: false, max: DEFAULT_MAX };
  const match = /^id (\]?)([^.;\s]*)\.\.[^;]*(?:;\s*max=(\d+))?$/.exec(header.trim());
  if (!match) return 'invalid';
  const max = match[3] === undefined ? DEFAULT_MAX : Number(match[3]);
  if (max < 1 || max > 1000) return 'invalid';
  return { start: match[2]!, exclusive: match[1] === ']', max };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function makeApps(count: number): HerokuApp[] {
  return Array.from({ length: count }, (_, index) => {
    const n = String(index + 1).padStart(12, '0');
    return {
      id: `01234567-89ab-cdef-0123-${n}`,
      name: `atlas-app-${index + 1}`,
      region: { name: index % 2 === 0 ? 'us' : 'eu' },
      created_at: `2024-01-${String(index + 1).padStart(2, '0')}T12:00:00Z`,
    };
  });
}

const ACCOUNT = {
  allow_tracking: true,
  beta: false,
  created_at: '2012-01-01T12:00:00Z',
  email: 'username@example.com',
  federated: false,
  id: '01234567-89ab-cdef-0123-456789abcdef',
  identity_provider: null,
  last_login: '2024-01-01T12:00:00Z',
  name: 'Tina Edmonds',
  sms_number: null,
  suspended_at: null,
  delinquent_at: null,
  two_factor_authentication: true,
  updated_at: '2024-01-01T12:00:00Z',
  verified: true,
  country_of_residence: 'United States',
  default_organization: null,
  default_team: null,
};
