// Injection points for the crash tests of the out-of-DBMS approaches (docs/resume.md):
// `BENCH_INJECT=<point>:kill[:<n>]` makes the process SIGKILL itself the n-th time (default 1) it
// reaches the named point: a real crash at an exact step, never a mock. Without BENCH_INJECT a
// point costs one lookup. The in-DBMS approaches read the same variable for their own points.

const reached = new Map<string, number>();

/** The points of the model-store approaches (export, da, task-parallel), in the order a unit reaches them. */
export const FLEET_POINTS = {
  /** A train request is with the worker; its reply has not come back (mid sub-epoch). */
  training: 'fleet:training',
  /** The worker wrote the new model version; the unit is not recorded yet. */
  checkpointed: 'fleet:checkpointed',
  /** The unit is recorded; the previous version is not removed yet (between units). */
  recorded: 'fleet:recorded',
  /** One config of an epoch is validated, others are not (mid validation). */
  validated: 'fleet:validated',
} as const;

export function injectionPoint(point: string): void {
  const spec = process.env.BENCH_INJECT;
  if (!spec) return;
  // Point names contain ':' themselves (fleet:training), so the spec is matched from the front.
  if (!spec.startsWith(`${point}:`)) return;
  const [action, nth] = spec.slice(point.length + 1).split(':');
  const n = nth === undefined ? 1 : Number(nth);
  if (action !== 'kill' || !Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_INJECT=${spec}: expected ${point}:kill[:<n>] (n a positive integer)`);
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (count === n) process.kill(process.pid, 'SIGKILL');
}
