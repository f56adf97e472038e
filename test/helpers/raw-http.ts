import net from 'node:net';

/** One response found in raw bytes, as strictly as a careful client would read it. */
export interface RawResponse {
  readonly status: number;
  readonly statusLine: string;
  /** Header names lower-cased, in order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** False when the bytes ended inside the head or the body. */
  readonly complete: boolean;
}

export interface ParsedResponses {
  readonly responses: readonly RawResponse[];
  /** Why the bytes are not a sequence of HTTP/1.1 responses, if they are not. */
  readonly garbage: string | undefined;
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) [\t\x20-\x7e\x80-\xff]*$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;

/** The value of header `name` (lower case) in `response`, the first one if repeated. */
export function headerOf(response: RawResponse, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1];
}

/**
 * Reads `bytes` as the responses on one connection, interim (1xx) ones
 * included. `closed` says the connection has ended, which completes a body
 * delimited by the close. `noBody` says the first request was HEAD: its final
 * response has no body.
 */
export function parseResponses(bytes: Buffer, options: { closed: boolean; noBody?: boolean }): ParsedResponses {
  const text = bytes.toString('latin1');
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) {
      const partial = text.slice(at);
      // A head cut short: what came so far must still read as the start of one.
      const firstLine = partial.split('\r\n')[0]!;
      if (!'HTTP/1.1 '.startsWith(firstLine.slice(0, 9)) && !STATUS_LINE.test(firstLine)) {
        return { responses, garbage: `not a status line: ${JSON.stringify(firstLine.slice(0, 80))}` };
      }
      responses.push({ status: 0, statusLine: firstLine, headers: [], body: Buffer.alloc(0), complete: false });
      return { responses, garbage: undefined };
    }
    const [statusLine, ...lines] = text.slice(at, headEnd).split('\r\n');
    const status = STATUS_LINE.exec(statusLine!);
    if (status === null)
      return { responses, garbage: `not a status line: ${JSON.stringify(statusLine!.slice(0, 80))}` };
    const headers: [string, string][] = [];
    for (const line of lines) {
      const header = HEADER_LINE.exec(line);
      if (header === null) return { responses, garbage: `not a header line: ${JSON.stringify(line.slice(0, 80))}` };
      headers.push([header[1]!.toLowerCase(), header[2]!]);
    }
    const code = Number(status[1]);
    at = headEnd + 4;
    const base = { status: code, statusLine: statusLine!, headers };
    const framing = headers.find(([name]) => name === 'transfer-encoding')?.[1];
    const length = headers.find(([name]) => name === 'content-length')?.[1];
    const interim = code < 200;
    const head = options.noBody === true && !interim && !responses.some((earlier) => earlier.status >= 200);
    const bodiless = interim || code === 204 || code === 304 || head;
    if (bodiless) {
      responses.push({ ...base, body: Buffer.alloc(0), complete: true });
      continue;
    }
    if (framing !== undefined) {
      if (framing.toLowerCase() !== 'chunked') return { responses, garbage: `transfer-encoding ${framing}` };
      const chunked = readChunked(text, at);
      if (chunked.garbage !== undefined) return { responses, garbage: chunked.garbage };
      responses.push({ ...base, body: Buffer.from(chunked.body, 'latin1'), complete: chunked.end !== undefined });
      if (chunked.end === undefined) return { responses, garbage: undefined };
      at = chunked.end;
      continue;
    }
    if (length !== undefined) {
      if (!/^\d+$/.test(length)) return { responses, garbage: `content-length ${length}` };
      const end = at + Number(length);
      responses.push({
        ...base,
        body: Buffer.from(text.slice(at, end), 'latin1'),
        complete: end <= text.length,
      });
      if (end > text.length) return { responses, garbage: undefined };
      at = end;
      continue;
    }
    // Delimited by the close: the rest of the connection is this body.
    responses.push({ ...base, body: Buffer.from(text.slice(at), 'latin1'), complete: options.closed });
    return { responses, garbage: undefined };
  }
  return { responses, garbage: undefined };
}

function readChunked(text: string, start: number): { body: string; end?: number; garbage?: string } {
  let at = start;
  let body = '';
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    if (lineEnd === -1) return { body };
    const size = /^([0-9a-fA-F]{1,8})(?:;[^\r\n]*)?$/.exec(text.slice(at, lineEnd));
    if (size === null) return { body, garbage: `bad chunk size ${JSON.stringify(text.slice(at, lineEnd))}` };
    const length = parseInt(size[1]!, 16);
    at = lineEnd + 2;
    if (length === 0) {
      // Trailers, then the empty line.
      for (;;) {
        const trailerEnd = text.indexOf('\r\n', at);
        if (trailerEnd === -1) return { body };
        const trailer = text.slice(at, trailerEnd);
        at = trailerEnd + 2;
        if (trailer === '') return { body, end: at };
        if (!HEADER_LINE.test(trailer)) return { body, garbage: `bad trailer ${JSON.stringify(trailer)}` };
      }
    }
    if (text.length < at + length + 2) {
      body += text.slice(at, at + length);
      return { body };
    }
    body += text.slice(at, at + length);
    if (text.slice(at + length, at + length + 2) !== '\r\n')
      return { body, garbage: 'chunk data not followed by CRLF' };
    at += length + 2;
  }
}

/** One write of a conversation, and how long to wait before the next. */
export interface Packet {
  /** The bytes, as a latin1 string (so a failing case prints readably). */
  readonly bytes: string;
  readonly pauseMs: number;
}

export interface Conversation {
  readonly bytes: Buffer;
  /** `closed`/`reset`: the peer ended the connection; `answered`: a complete response arrived; `hang`: neither within the bound. */
  readonly ending: 'closed' | 'reset' | 'answered' | 'hang';
}

/**
 * Writes `packets` on a new connection to `url`, then half-closes, resets or
 * just waits (`after`), and collects what comes back until the peer ends the
 * connection, `answered(bytes)` holds once everything was sent, or `boundMs`
 * passes (a hang).
 */
export function converse(
  url: string,
  packets: readonly Packet[],
  after: 'end' | 'reset' | 'wait',
  answered: (bytes: Buffer) => boolean,
  boundMs: number,
): Promise<Conversation> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let sent = false;
    let settled = false;
    const settle = (ending: Conversation['ending']) => {
      if (settled) return;
      settled = true;
      clearTimeout(bound);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), ending });
    };
    const bound = setTimeout(() => settle('hang'), boundMs);
    const check = () => {
      if (sent && answered(Buffer.concat(chunks))) settle('answered');
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      check();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNRESET' ? 'reset' : 'closed'));
    socket.on('end', () => settle('closed'));
    socket.on('connect', () => {
      void (async () => {
        for (const packet of packets) {
          if (settled || socket.destroyed) return;
          socket.write(Buffer.from(packet.bytes, 'latin1'));
          if (packet.pauseMs > 0) await new Promise((wake) => setTimeout(wake, packet.pauseMs));
        }
        if (settled) return;
        if (after === 'end') socket.end();
        else if (after === 'reset') {
          socket.resetAndDestroy();
          settle('reset');
          return;
        }
        sent = true;
        check();
      })();
    });
  });
}

/** `bytes` cut at the given offsets (any order, out of range ignored) into packets with the given pauses. */
export function splitIntoPackets(bytes: string, cuts: readonly number[], pauseMs: readonly number[]): Packet[] {
  const offsets = [...new Set(cuts.filter((cut) => cut > 0 && cut < bytes.length))].sort((a, b) => a - b);
  const bounds = [0, ...offsets, bytes.length];
  const packets: Packet[] = [];
  for (let index = 0; index + 1 < bounds.length; index += 1) {
    packets.push({ bytes: bytes.slice(bounds[index], bounds[index + 1]), pauseMs: pauseMs[index] ?? 0 });
  }
  return packets;
}
