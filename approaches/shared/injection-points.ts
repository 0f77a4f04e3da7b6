// Injection points for the crash tests of the in-DBMS approaches (like PostgreSQL's own injection
// points): `BENCH_INJECT=<point>=<action>[@<n>]` makes the process, the n-th time (default 1) it
// reaches the named point, either SIGKILL itself (`kill`) or stop one instance of the embedded
// cluster at once with `pg_ctl stop -m immediate` (`stop-coordinator`, `stop-seg1`, or
// `stop-<role>` for a role the point names, e.g. the hop's `source` and `destination`). Faults are
// real kills, never mocks; without BENCH_INJECT a point costs one lookup. docs/indb.md lists them.
import type { Topology } from '../../src/db/topology.js';
import { pgBinary } from '../../src/db/postgres-os.js';

const reached = new Map<string, number>();

interface Injection {
  point: string;
  action: string;
  nth: number;
}

function parseInjection(spec: string): Injection {
  const match = /^([^=]+)=(kill|stop-[\w-]+)(?:@(\d+))?$/.exec(spec);
  if (!match) throw new Error(`BENCH_INJECT=${spec}: expected <point>=kill|stop-<instance or role>[@<n>]`);
  const [, point, action, nth] = match;
  const n = nth === undefined ? 1 : Number(nth);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_INJECT=${spec}: <n> must be a positive integer`);
  return { point, action, nth: n };
}

/** Reached a named point: inject the fault BENCH_INJECT asks for here, if any. */
export async function injectionPoint(
  topology: Topology,
  point: string,
  roles: Record<string, string> = {},
): Promise<void> {
  const spec = process.env.BENCH_INJECT;
  if (!spec) return;
  const injection = parseInjection(spec);
  if (injection.point !== point) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (count !== injection.nth) return;
  if (injection.action === 'kill') {
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  const target = injection.action.slice('stop-'.length);
  const name = roles[target] ?? target;
  const instance = [topology.coordinator, ...topology.segments].find((i) => i.name === name);
  if (!instance?.dataDir) throw new Error(`injection point ${point}: no local instance "${name}" to stop`);
  await pgBinary('pg_ctl', ['-D', instance.dataDir, '-m', 'immediate', '-w', 'stop']);
}
