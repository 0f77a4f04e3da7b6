// `npm run bench:ci`: the CI regression run (DESIGN section 1, "regression runs in CI").
// Runs each approach several times on a tiny workload into a fresh runs folder, writes the
// report of those runs, and, when a baseline is given, compares against it with the same logic
// as `bench compare` (exit 1 on a regression, 2 when the runs are not comparable).
//
//   npx tsx bench/ci.ts [--approaches export,udaf] [--workload criteo] [--scale tiny]
//                       [--segments 2] [--repeats 3] [--out .bench/ci/<stamp>]
//                       [--baseline <runs folder or glob>] [--max-slowdown 1.10]
//
// The baseline defaults to $BENCH_BASELINE. Without one, the runs are stored and their folder is
// printed: pass it as --baseline to a later run (e.g. one on the main branch's commit).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { approachIds } from '../approaches/index.js';
import { runApproach } from '../src/core/harness.js';
import type { ScaleName } from '../src/core/workload.js';
import { SCALES } from '../src/core/workload.js';
import { ensureCluster } from '../src/db/cluster.js';
import { compareRuns, exitCodeOf } from '../src/metrics/compare.js';
import { formatComparison, sidePatterns } from '../src/cli/commands/compare.js';
import { loadRuns, RunFolderError } from '../src/store/read.js';
import { buildReport } from '../reports/build.js';

const args = await yargs(hideBin(process.argv))
  .scriptName('bench:ci')
  .option('approaches', { type: 'string', describe: 'comma-separated approach ids (default: every registered approach)' })
  .option('workload', { type: 'string', default: 'criteo' })
  .option('scale', { type: 'string', default: 'tiny' })
  .option('segments', { type: 'number', default: 2 })
  .option('repeats', { type: 'number', default: 3, describe: 'runs per approach (3 or more enables the noise test)' })
  .option('out', { type: 'string', describe: 'folder for the runs and the report (default .bench/ci/<timestamp>)' })
  .option('baseline', { type: 'string', default: process.env.BENCH_BASELINE, describe: 'baseline run folder(s) to compare against' })
  .option('max-slowdown', { type: 'number', default: 1.1 })
  .strict()
  .help()
  .parseAsync();

if (!(SCALES as readonly string[]).includes(args.scale)) {
  console.error(`bench:ci: unknown scale "${args.scale}"; valid scales: ${SCALES.join(', ')}`);
  process.exit(2);
}
const approaches = args.approaches ? sidePatterns(args.approaches) : approachIds();
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const out = resolve(args.out ?? join('.bench', 'ci', stamp));
const runsDir = join(out, 'runs');
mkdirSync(runsDir, { recursive: true });

const topology = await ensureCluster({ segments: args.segments });
const failures: string[] = [];
for (const approach of approaches) {
  for (let r = 0; r < args.repeats; r++) {
    const label = `${approach} ${args.workload}/${args.scale} run ${r + 1}/${args.repeats}`;
    try {
      const result = await runApproach({ approach, workload: args.workload, scale: args.scale as ScaleName, topology, runsDir });
      const s = result.summary;
      console.log(`${label}: ETL ${s.etlSeconds.toFixed(2)} s, execution ${s.executionSeconds.toFixed(2)} s (${result.runDir})`);
    } catch (error) {
      failures.push(`${label}: ${(error as Error).message}`);
      console.error(`${label} failed: ${(error as Error).message}`);
    }
  }
}

const report = await buildReport([runsDir], join(out, 'report'));
console.log(`report: ${join(out, 'report', 'index.html')}`);

let code = failures.length > 0 ? 1 : 0;
if (args.baseline) {
  try {
    const baseline = await loadRuns(sidePatterns(args.baseline), { requireSummary: true });
    const candidate = report.runs.filter((r) => r.summary.status === 'complete');
    const result = compareRuns(baseline, candidate, { maxSlowdown: args['max-slowdown'] });
    console.log(formatComparison(result));
    code = Math.max(code, exitCodeOf(result));
  } catch (error) {
    if (!(error instanceof RunFolderError)) throw error;
    console.error(`bench:ci: cannot compare: ${error.message}`);
    code = 2;
  }
} else {
  console.log(`no baseline given: to compare a later run against these, pass --baseline ${runsDir} (or set BENCH_BASELINE)`);
}
if (failures.length > 0) console.error(`${failures.length} run(s) failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
process.exitCode = code;
