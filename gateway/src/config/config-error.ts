/** One thing wrong with a config: where it is and what to do about it. */
export interface ConfigProblem {
  /** A location a person can find: a file with line and column, a key path or an environment variable. */
  readonly where: string;
  readonly message: string;
}

/**
 * A configuration the gateway (or `pulumi up`, or the CLI) refuses. Carries
 * every problem found, not only the first, so one run shows all fixes.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** What is refused, in a few words: "ATLAS_ADAPTERS is not valid JSON". */
    readonly summary: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super([summary, ...problems.map((p) => `  - ${p.where}: ${p.message}`)].join('\n'));
  }
}
