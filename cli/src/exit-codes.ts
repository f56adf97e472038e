/** The CLI's exit codes; `atlas curl` follows curl's where they overlap. */
export const EXIT = {
  ok: 0,
  /** A refused change, an invalid file, a failed request. */
  failure: 1,
  /** Wrong arguments. */
  usage: 2,
  /** The gateway could not be reached (curl's "failed to connect"). */
  unreachable: 7,
  /** The gateway answered 400 or above (curl --fail-with-body). */
  httpError: 22,
} as const;
