// The one shape every benchmark script shares (docs/benchmarks.md): yargs for its arguments, a
// main() that returns what it measured, and the targets printed in one form — each a ratio measured
// side by side in the same run, the bound it must meet, and whether it did.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatTable } from '../../src/cli/format.js';
import { errorMessage } from '../../src/core/errors.js';

export interface Target {
  /** What is compared, e.g. "udaf / da machine time, criteo/small". */
  name: string;
  measured: number;
  /** The bound: measured must be <= (or >=) this. */
  bound: number;
  direction: '<=' | '>=';
  /** How the number was measured, when it is not obvious from the name. */
  note?: string;
}

export function targetMet(target: Target): boolean {
  return target.direction === '<=' ? target.measured <= target.bound : target.measured >= target.bound;
}

/** The targets as one table: measured, bound, met. Returns how many were missed. */
export function printTargets(title: string, targets: readonly Target[], digits = 3): number {
  console.log(`\n${title}`);
  const rows = targets.map((t) => [
    t.name,
    t.measured.toFixed(digits),
    `${t.direction} ${t.bound}`,
    targetMet(t) ? 'met' : 'MISSED',
    t.note ?? '',
  ]);
  console.log(formatTable(['target', 'measured', 'bound', 'verdict', 'how'], rows));
  return targets.filter((t) => !targetMet(t)).length;
}

export interface BenchScript<A> {
  /** The npm script or file name, for usage text. */
  name: string;
  describe: string;
  options(argv: Argv<object>): Argv<A>;
  main(args: A): Promise<void>;
}

/** Parse the arguments strictly, run main, and exit non-zero with the error's message on failure. */
export async function runBench<A>(script: BenchScript<A>): Promise<void> {
  const args = await script
    .options(yargs(hideBin(process.argv)).scriptName(script.name).usage(`$0: ${script.describe}`))
    .strict()
    .help()
    .parseAsync();
  try {
    await script.main(args as A);
  } catch (error) {
    console.error(`${script.name}: ${errorMessage(error)}`);
    process.exitCode = 1;
  }
}
