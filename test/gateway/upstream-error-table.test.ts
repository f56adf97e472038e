import { AtlasError, toUpstreamError } from '../../gateway/src/http/errors';

/** An error as Node's http client reports it: a message and a `code`. */
function failure(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`upstream failed with ${code}`), { code });
}

const BAD_GATEWAY = ['bad_gateway', 502] as const;
const GATEWAY_TIMEOUT = ['gateway_timeout', 504] as const;

describe.each([
  ['connection refused', 'ECONNREFUSED', BAD_GATEWAY],
  ['connection reset', 'ECONNRESET', BAD_GATEWAY],
  ['broken pipe', 'EPIPE', BAD_GATEWAY],
  ['host not found', 'ENOTFOUND', BAD_GATEWAY],
  ['DNS temporarily failing', 'EAI_AGAIN', BAD_GATEWAY],
  ['host unreachable', 'EHOSTUNREACH', BAD_GATEWAY],
  ['network unreachable', 'ENETUNREACH', BAD_GATEWAY],
  ['connect timed out', 'ETIMEDOUT', GATEWAY_TIMEOUT],
  ['expired certificate', 'CERT_HAS_EXPIRED', BAD_GATEWAY],
  ['certificate not yet valid', 'CERT_NOT_YET_VALID', BAD_GATEWAY],
  ['self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT', BAD_GATEWAY],
  ['self-signed certificate in the chain', 'SELF_SIGNED_CERT_IN_CHAIN', BAD_GATEWAY],
  ['unverifiable leaf certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', BAD_GATEWAY],
  ['unknown issuer', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', BAD_GATEWAY],
  ['certificate for another host', 'ERR_TLS_CERT_ALTNAME_INVALID', BAD_GATEWAY],
  ['not TLS at all', 'ERR_SSL_WRONG_VERSION_NUMBER', BAD_GATEWAY],
  ['garbage instead of HTTP', 'HPE_INVALID_CONSTANT', BAD_GATEWAY],
  ['invalid status line', 'HPE_INVALID_STATUS', BAD_GATEWAY],
  ['invalid header', 'HPE_INVALID_HEADER_TOKEN', BAD_GATEWAY],
  ['conflicting Content-Length', 'HPE_UNEXPECTED_CONTENT_LENGTH', BAD_GATEWAY],
  ['headers too large', 'HPE_HEADER_OVERFLOW', BAD_GATEWAY],
  ['an unknown code', 'EWHATEVER', BAD_GATEWAY],
] as const)('an upstream failure with %s (%s)', (_what, code, [id, status]) => {
  test(`maps to ${status} ${id}, names the adapter and keeps the cause for the logs only`, () => {
    const cause = failure(code);
    const error = toUpstreamError(cause, 'heroku-eu');
    expect(error).toBeInstanceOf(AtlasError);
    expect(error.id).toBe(id);
    expect(error.status).toBe(status);
    expect(error.message).toContain('"heroku-eu"');
    expect(error.cause).toBe(cause);
    // Node's messages can carry upstream addresses and internals: the caller gets the gateway's own wording.
    expect(error.message).not.toContain(cause.message);
  });
});

test.each([
  ['an Error without a code', new Error('something broke')],
  ['a thrown string', 'something broke'],
  ['undefined', undefined],
  ['null', null],
])('an upstream failure that is %s maps to 502 bad_gateway naming the adapter', (_what, thrown) => {
  const error = toUpstreamError(thrown, 'datadog');
  expect(error.id).toBe('bad_gateway');
  expect(error.status).toBe(502);
  expect(error.message).toContain('"datadog"');
});

test('an AtlasError (such as the gateway_timeout the proxy raises itself) passes through unchanged', () => {
  const own = new AtlasError('gateway_timeout', 'The upstream of adapter "heroku" sent no response within 300 ms.');
  expect(toUpstreamError(own, 'heroku')).toBe(own);
  expect(own.id).toBe('gateway_timeout');
  expect(own.status).toBe(504);
});
