import path from 'node:path';
import fc from 'fast-check';
import { REPO_ROOT } from './gateway';

/**
 * Seeded fuzzing: the same seed and run count give the same cases, so `npm
 * test` is deterministic and a failure can be replayed. ATLAS_FUZZ_SEED and
 * ATLAS_FUZZ_RUNS choose others; ATLAS_FUZZ_PATH (printed on failure) replays
 * the failing case alone.
 */
export const FUZZ_SEED = readInteger('ATLAS_FUZZ_SEED', 20_261_201);
export const FUZZ_RUNS = readInteger('ATLAS_FUZZ_RUNS', 60);
const FUZZ_PATH = process.env.ATLAS_FUZZ_PATH?.trim() || undefined;

function readInteger(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * Runs `check` on `runs` cases drawn from `cases` with the suite's seed. A
 * failing case is not shrunk (every case costs real connections); the error
 * names the seed, the case and the command that replays it.
 */
export async function fuzz<T>(
  testFile: string,
  cases: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
  runs = FUZZ_RUNS,
): Promise<void> {
  const details = await fc.check(
    fc.asyncProperty(cases, async (value) => {
      await check(value);
    }),
    {
      seed: FUZZ_SEED,
      endOnFailure: true,
      // A path replays that one case.
      ...(FUZZ_PATH === undefined ? { numRuns: runs } : { path: FUZZ_PATH, numRuns: 1 }),
    },
  );
  if (!details.failed) return;
  const file = path.relative(REPO_ROOT, testFile);
  const replay = `ATLAS_FUZZ_SEED=${details.seed} ATLAS_FUZZ_PATH=${details.counterexamplePath} npx jest ${file}`;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `fuzz case failed (seed ${details.seed}, case ${details.counterexamplePath}, ${details.numRuns} run(s))\n` +
      `replay: ${replay}\n` +
      `case: ${JSON.stringify(details.counterexample?.[0])}\n\n${cause}`,
  );
}
