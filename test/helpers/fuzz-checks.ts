import fc from 'fast-check';
import type { GatewayProcess } from './gateway';
import { send } from './http';
import { within } from './process-wait';
import { headerOf, type RawResponse } from './raw-http';

/** Any byte, as a one-character latin1 string. */
const BYTE = fc.integer({ min: 0, max: 255 }).map((code) => String.fromCharCode(code));
const TOKEN_CHAR = fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

/** Up to `maxLength` arbitrary bytes. */
export function bytes(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: BYTE, maxLength });
}

/** An HTTP token (a method or header name) of 1 to `maxLength` characters. */
export function token(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: TOKEN_CHAR, minLength: 1, maxLength });
}

/** Where to cut a message into packets: near its start (the request or status line) or anywhere. */
export const cuts = fc.array(fc.oneof(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 600 })), {
  maxLength: 5,
});
/** Pauses between packets: mostly none, sometimes a few milliseconds so they travel apart. */
export const pauses = fc.array(fc.constantFrom(0, 0, 1, 3), { maxLength: 6 });

/** A chunk stream: well-formed chunks mixed with malformed sizes, extensions and line ends, then an ending. */
export const chunkStream = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 5, arbitrary: bytes(24).map((data) => `${data.length.toString(16)}\r\n${data}\r\n`) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.constantFrom('zz', '-1', 'fffffffffffffffff', ' 3', '3;ext=1', '3 ;x', '', '0x3', '3\x00'),
              bytes(6),
              fc.constantFrom('\r\n', '\n', '', '\r'),
            )
            .map(([size, data, eol]) => `${size}${eol}${data}${eol}`),
        },
      ),
      { maxLength: 5 },
    ),
    fc.constantFrom(
      '0\r\n\r\n',
      '0\r\n\r\n',
      '0\r\n\r\n',
      '0\r\nX-Trailer: t\r\n\r\n',
      '0\r\nbad trailer\r\n\r\n',
      '0\r\n',
      '',
      '0\r\n\r\nEXTRA',
      '000\r\n\r\n',
    ),
  )
  .map(([chunks, end]) => chunks.join('') + end);

/** The gateway process is running and answers its health check. */
export async function expectAlive(gateway: GatewayProcess): Promise<void> {
  expect(gateway.process.exitCode).toBeNull();
  expect(gateway.process.signalCode).toBeNull();
  const health = await within(send(gateway.url, { path: '/healthz' }), 10_000, 'the health check');
  expect(health.status).toBe(200);
}

/**
 * A complete error response the gateway built itself: JSON `{ id, message }`
 * (no body in answer to HEAD), `Atlas-Error`, a request id.
 */
export function expectGatewayError(response: RawResponse, ids?: readonly string[], head = false): void {
  expect(response.complete).toBe(true);
  expect(headerOf(response, 'content-type')).toMatch(/^application\/json/);
  expect(headerOf(response, 'x-request-id')).toMatch(/\S/);
  if (ids !== undefined) expect(ids).toContain(headerOf(response, 'atlas-error'));
  if (head) {
    expect(response.body.length).toBe(0);
    return;
  }
  const body = JSON.parse(response.body.toString('utf8')) as { id?: unknown; message?: unknown };
  expect(body).toEqual({ id: headerOf(response, 'atlas-error'), message: expect.any(String) });
}
