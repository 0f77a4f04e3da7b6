// The headline of `bench reproduce` (docs/studies.md, "Headline"): from the end-to-end runs, the
// ranking of the approaches by execution time and by ETL + execution, speedups against UDAF (the
// reference, as in Figure 10), where the measured ranking departs from the paper's Table 6, and
// the environment the numbers were measured in (machine, versions, data, and whether the machine
// was loaded by something else while the runs ran).
import { mean } from '../reports/common.js';
import { approachName } from '../reports/style.js';
import type { LoadedRun } from '../src/core/records.js';
import { coresOf } from './claims.js';
import { publishedRanking, publishedTable6Row } from './paper/published.js';

export const REFERENCE_APPROACH = 'udaf';

/** Machine CPU use by other processes above this share (percentage points) marks a run as loaded. */
export const LOADED_THRESHOLD_PCT = 15;

export interface RankRow {
  approach: string;
  runs: number;
  executionSeconds: number;
  etlPlusExecutionSeconds: number;
  /** Execution over the reference's; null without a reference run. */
  xReference: number | null;
  /** The paper's execution over its reference's (Table 6); null where the paper has no row. */
  publishedXReference: number | null;
  /** 1-based rank in the paper's Table 6 section among the approaches measured here; null if absent there. */
  publishedRank: number | null;
}

export interface WorkloadHeadline {
  workload: string;
  scale: string;
  segments: number;
  /** Fastest first by execution. */
  byExecution: RankRow[];
  /** Approach ids, fastest first by ETL + execution. */
  byEtlPlusExecution: string[];
  /** Pairs the paper orders one way and the runs the other. */
  departures: string[];
}

export interface Environment {
  machine: string;
  cores: number;
  memoryGiB: number;
  gpu: string;
  versions: string;
  datasets: string[];
  configs: string;
  epochs: string;
  repeats: number;
  /** The largest mean CPU use of other processes during a run's execution (percentage points of the machine). */
  otherLoadPct: number | null;
  loaded: boolean | null;
}

export interface Headline {
  workloads: WorkloadHeadline[];
  environment: Environment | null;
}

function rankWorkload(runs: readonly LoadedRun[]): WorkloadHeadline {
  const { workload, scale, segments } = runs[0].info;
  const ids = [...new Set(runs.map((r) => r.info.approach))];
  const stats = ids.map((id) => {
    const rs = runs.filter((r) => r.info.approach === id);
    return {
      id,
      runs: rs.length,
      execution: mean(rs.map((r) => r.summary.executionSeconds)),
      total: mean(rs.map((r) => r.summary.etlSeconds + r.summary.executionSeconds)),
    };
  });
  const reference = stats.find((s) => s.id === REFERENCE_APPROACH);
  const publishedReference = publishedTable6Row(workload, REFERENCE_APPROACH)?.executionHours;
  const paperOrder = workload === 'imagenet' || workload === 'criteo' ? publishedRanking(workload) : [];
  const paperHere = paperOrder.filter((id) => ids.includes(id));
  const byExecution = [...stats]
    .sort((a, b) => a.execution - b.execution)
    .map((s): RankRow => {
      const published = publishedTable6Row(workload, s.id)?.executionHours;
      const rank = paperHere.indexOf(s.id);
      return {
        approach: s.id,
        runs: s.runs,
        executionSeconds: s.execution,
        etlPlusExecutionSeconds: s.total,
        xReference: reference && reference.execution > 0 ? s.execution / reference.execution : null,
        publishedXReference: published !== undefined && publishedReference ? published / publishedReference : null,
        publishedRank: rank >= 0 ? rank + 1 : null,
      };
    });
  const measuredOrder = byExecution.map((r) => r.approach).filter((id) => paperHere.includes(id));
  const departures: string[] = [];
  for (let i = 0; i < paperHere.length; i++) {
    for (let j = i + 1; j < paperHere.length; j++) {
      const [a, b] = [paperHere[i], paperHere[j]];
      if (measuredOrder.indexOf(a) > measuredOrder.indexOf(b)) {
        const ta = stats.find((s) => s.id === a)!.execution;
        const tb = stats.find((s) => s.id === b)!.execution;
        departures.push(
          `${approachName(a)} is faster than ${approachName(b)} in the paper; ` +
            `here it takes ${(ta / tb).toFixed(2)}x as long`,
        );
      }
    }
  }
  return {
    workload,
    scale,
    segments,
    byExecution,
    byEtlPlusExecution: [...stats].sort((a, b) => a.total - b.total).map((s) => s.id),
    departures,
  };
}

function environmentOf(runs: readonly LoadedRun[], repeats: number): Environment | null {
  if (runs.length === 0) return null;
  const env = runs[0].info.environment;
  const distinct = (values: readonly string[]): string => [...new Set(values)].join(', ');
  const loads = runs.flatMap((r) =>
    r.summary.resources ? [Math.max(0, r.summary.resources.cpuPctMean - r.summary.resources.runCpuPctMean)] : [],
  );
  const otherLoadPct = loads.length > 0 ? Math.max(...loads) : null;
  const datasets = new Map<string, string>();
  for (const r of runs) {
    const d = r.info.dataset;
    const name = String(d.name ?? r.info.workload);
    const rows =
      typeof d.trainRows === 'number'
        ? `${d.trainRows} train rows, ${d.validRows ?? '?'} validation rows`
        : 'size not recorded';
    datasets.set(name, `${name}: ${rows}`);
  }
  return {
    machine: `${env.cpuModel}, ${env.os}`,
    cores: coresOf(runs[0]),
    memoryGiB: Math.round(env.memoryBytes / 2 ** 30),
    gpu: env.gpu ?? 'none',
    versions:
      `node ${env.node}, python ${env.python}, torch ${env.torch}, PostgreSQL ${env.postgres}, ` +
      `bench ${distinct(runs.map((r) => r.info.environment.gitSha.slice(0, 8)))}`,
    datasets: [...datasets.values()],
    configs: distinct(runs.map((r) => `${r.info.workload} ${r.info.configs.length}`)),
    epochs: distinct(runs.map((r) => `${r.info.workload} ${r.info.epochs}`)),
    repeats,
    otherLoadPct,
    loaded: otherLoadPct === null ? null : otherLoadPct > LOADED_THRESHOLD_PCT,
  };
}

/** The headline of the end-to-end runs (table6-fig9): complete runs only, one section per workload. */
export function headline(runs: readonly LoadedRun[], repeats: number): Headline {
  const done = runs.filter((r) => r.summary.status === 'complete');
  const keys = [...new Set(done.map((r) => `${r.info.workload}|${r.info.scale}|${r.info.segments}`))].sort();
  return {
    workloads: keys.map((k) =>
      rankWorkload(done.filter((r) => `${r.info.workload}|${r.info.scale}|${r.info.segments}` === k)),
    ),
    environment: environmentOf(done, repeats),
  };
}

const x = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(2)}x`);

/** The headline as Markdown (headline.md). */
export function headlineMarkdown(h: Headline): string {
  const lines = ['# Headline', ''];
  if (h.workloads.length === 0) lines.push('No complete end-to-end run: nothing to rank.', '');
  for (const w of h.workloads) {
    lines.push(
      `## ${w.workload}, ${w.scale} scale, ${w.segments} segments`,
      '',
      `| rank | approach | execution s | ETL + execution s | x ${approachName(REFERENCE_APPROACH)} | paper: ` +
        `x ${approachName(REFERENCE_APPROACH)} | paper rank | runs |`,
      '|---|---|---|---|---|---|---|---|',
      ...w.byExecution.map(
        (r, i) =>
          `| ${i + 1} | ${approachName(r.approach)} | ${r.executionSeconds.toFixed(1)} ` +
          `| ${r.etlPlusExecutionSeconds.toFixed(1)} | ${x(r.xReference)} | ${x(r.publishedXReference)} ` +
          `| ${r.publishedRank ?? 'not in Table 6'} | ${r.runs} |`,
      ),
      '',
      `By ETL + execution: ${w.byEtlPlusExecution.map(approachName).join(' < ')}.`,
      '',
      w.departures.length === 0
        ? "The execution ranking agrees with the paper's Table 6 for every approach in both."
        : `Where the ranking departs from the paper's Table 6: ${w.departures.join('; ')}.`,
      '',
    );
  }
  const e = h.environment;
  if (e) {
    const load =
      e.otherLoadPct === null
        ? 'not sampled'
        : `other processes used up to ${e.otherLoadPct.toFixed(0)}% of the machine during a run's execution ` +
          `(${e.loaded ? 'loaded: timings are upper bounds' : 'quiet'}; threshold ${LOADED_THRESHOLD_PCT}%)`;
    lines.push(
      '## Environment',
      '',
      `- machine: ${e.machine}; ${e.cores} cores, ${e.memoryGiB} GiB, GPU: ${e.gpu}`,
      `- versions: ${e.versions}`,
      `- data: ${e.datasets.join('; ')}`,
      `- configs per run: ${e.configs}; epochs: ${e.epochs}; repeats: ${e.repeats}`,
      `- load: ${load}`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
