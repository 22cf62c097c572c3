/**
 * A benchmark that cannot run here (an optional part missing, not root…) says so and exits 3;
 * scripts/bench.sh lists it as skipped, with the reason, instead of failing the whole run.
 */
export const SKIPPED_EXIT = 3;

export function skipBench(name: string, why: string): never {
  process.stdout.write(`\n### ${name}: skipped — ${why}\n`);
  process.exit(SKIPPED_EXIT);
}
