/** The error ids clients see, with their HTTP status. */
const STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  adapter_not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  expectation_failed: 417,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  bad_gateway: 502,
  adapter_unavailable: 503,
  gateway_timeout: 504,
} as const;

export type ErrorId = keyof typeof STATUS;

/**
 * The one error type of the gateway. `message` is safe to show to the caller
 * (it never holds a secret); `cause` is for the logs only.
 */
export class AtlasError extends Error {
  override readonly name = 'AtlasError';
  readonly status: number;
  /** Extra response headers, such as `Allow` or `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly id: ErrorId,
    message: string,
    options: { cause?: unknown; headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = STATUS[id];
    this.headers = options.headers;
  }
}

/** How each way an upstream can fail reaches the caller. */
const UPSTREAM_FAILURES: Readonly<Record<string, readonly [ErrorId, string]>> = {
  ECONNREFUSED: ['bad_gateway', 'refused the connection'],
  ECONNRESET: ['bad_gateway', 'closed the connection before responding'],
  EPIPE: ['bad_gateway', 'closed the connection before responding'],
  ENOTFOUND: ['bad_gateway', 'has a host name that could not be resolved'],
  EAI_AGAIN: ['bad_gateway', 'has a host name that could not be resolved'],
  EHOSTUNREACH: ['bad_gateway', 'is unreachable'],
  ENETUNREACH: ['bad_gateway', 'is unreachable'],
  ETIMEDOUT: ['gateway_timeout', 'did not accept the connection in time'],
  CERT_HAS_EXPIRED: ['bad_gateway', 'presented an expired TLS certificate'],
  DEPTH_ZERO_SELF_SIGNED_CERT: ['bad_gateway', 'presented an untrusted TLS certificate'],
  SELF_SIGNED_CERT_IN_CHAIN: ['bad_gateway', 'presented an untrusted TLS certificate'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ['bad_gateway', 'presented an untrusted TLS certificate'],
  ERR_TLS_CERT_ALTNAME_INVALID: ['bad_gateway', 'presented a TLS certificate for another host'],
};

/** Maps a failure of the upstream request of `adapter` to what the caller is told. */
export function toUpstreamError(error: unknown, adapter: string): AtlasError {
  if (error instanceof AtlasError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const [id, what] =
    UPSTREAM_FAILURES[code] ??
    (code.startsWith('HPE_')
      ? (['bad_gateway', 'sent an invalid HTTP response'] as const)
      : (['bad_gateway', 'failed'] as const));
  return new AtlasError(id, `The upstream of adapter "${adapter}" ${what}.`, { cause: error });
}
