/**
 * The part of heroku-client 3 (which ships no types) the tests use: see
 * node_modules/heroku-client/lib/index.js and lib/request.js.
 */
declare module 'heroku-client' {
  interface HerokuOptions {
    /** `http(s)://host[:port]`; https://api.heroku.com by default. */
    host?: string;
    /** Sent as Basic credentials with an empty user: `:<token>`. */
    token?: string;
    /** Merged over the defaults (Accept, Content-type, User-Agent, Range) of every request, Host included. */
    headers?: Record<string, string>;
    /** Only the first page: no walk along Next-Range. */
    partial?: boolean;
    parseJSON?: boolean;
    timeout?: number;
    userAgent?: string;
  }

  interface HerokuRequestOptions extends HerokuOptions {
    method?: string;
    path?: string;
    /** Serialized as JSON unless `json: false`. */
    body?: unknown;
    json?: boolean;
  }

  /** What a request rejects with when the answer is not 2xx. */
  interface HerokuClientError extends Error {
    statusCode: number;
    /** The parsed JSON body, else the text. */
    body: unknown;
  }

  class Heroku {
    constructor(options?: HerokuOptions);
    request<T = unknown>(options: HerokuRequestOptions): Promise<T>;
    get<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    post<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    put<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    patch<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
    delete<T = unknown>(path: string, options?: HerokuRequestOptions): Promise<T>;
  }

  namespace Heroku {
    export type { HerokuClientError, HerokuOptions, HerokuRequestOptions };
  }

  export = Heroku;
}
