import type { IncomingMessage } from 'node:http';

/** A body smaller than this is never watched: it cannot hold much memory. */
const LARGE_BODY_BYTES = 64 * 1024;

/** Proxied body bytes between two young-generation collections. */
export const DEFAULT_BYTES_PER_COLLECTION = 4 * 1024 * 1024;

export type Collect = () => void;

/**
 * Keeps streamed bodies from piling up memory. Node reads every socket chunk
 * into a buffer of its own; once the chunk has been written on, the buffer is
 * garbage, but V8 frees it only when it next collects the young generation.
 * A stream makes almost no other garbage to bring that on, so a 1 GiB
 * transfer lets 60–90 MB of spent buffers accumulate until V8's
 * external-memory trigger fires. The pacer counts the bytes of large bodies
 * (request and response) and runs a young-generation collection after every
 * `bytesPerCollection` of them, which holds the growth to about that much
 * for any number of concurrent transfers. With little else alive, one such
 * collection takes a few tenths of a millisecond (0.35 ms median, 0.7 ms mean
 * in the benchmark's streams): some 7% of a core at loopback's 400 MB/s, less
 * at network speeds. Small bodies are not watched and cost nothing.
 */
export interface BodyMemoryPacer {
  /** Counts the body of `message` (a request or an upstream response) if it may be large. */
  watch(message: IncomingMessage): void;
}

export function createBodyMemoryPacer(
  collect: Collect,
  bytesPerCollection = DEFAULT_BYTES_PER_COLLECTION,
): BodyMemoryPacer {
  let sinceCollection = 0;
  const count = (chunk: Buffer) => {
    sinceCollection += chunk.length;
    if (sinceCollection < bytesPerCollection) return;
    // The rest carries over, so that collections follow the bytes streamed.
    sinceCollection %= bytesPerCollection;
    collect();
  };
  return {
    watch(message) {
      if (mayBeLarge(message)) message.on('data', count);
    },
  };
}

/** Bodies of `LARGE_BODY_BYTES` or more, and those of unknown length. */
function mayBeLarge(message: IncomingMessage): boolean {
  const length = message.headers['content-length'];
  if (length !== undefined) return Number(length) >= LARGE_BODY_BYTES;
  // Without a length, a request has a body only if it is chunked; a
  // response's body runs to its last chunk or to the connection's end.
  return message.method === undefined || message.headers['transfer-encoding'] !== undefined;
}
