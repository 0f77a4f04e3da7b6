// The claims page of `bench reproduce` (docs/studies.md, "Claims"): each qualitative claim of the
// paper, with a verdict computed from the runs the studies stored (holds / does not hold / not
// measurable here, and why) and the numbers behind it, measured beside published where the paper
// gives a number. Thresholds are stated in each claim's `test` so a reader can disagree with them.
import { mean } from '../reports/common.js';
import { bestErrors, isSearchRun, searchGroups } from '../reports/search.js';
import { approachName } from '../reports/style.js';
import type { LoadedRun } from '../src/core/records.js';
import { fig11Points } from './fig11.js';
import {
  FIG12_SOURCE,
  PUBLISHED_BLOWUP,
  PUBLISHED_FIG12_BEST_ERROR,
  publishedTable6Row,
  type Source,
  TABLE3_SOURCE,
  TABLE6_SOURCE,
} from './paper/published.js';
import type { StudyContext } from './types.js';
import { meanBreakdownOf } from '../reports/figure9.js';

export type Verdict = 'holds' | 'does not hold' | 'not measurable';

export interface ClaimNumber {
  label: string;
  measured: number | null;
  /** The paper's value of the same quantity, where it prints one. */
  published?: number | null;
}

export interface ClaimResult {
  id: string;
  claim: string;
  source: Source;
  /** How the verdict is decided, thresholds included. */
  test: string;
  verdict: Verdict;
  why: string;
  numbers: ClaimNumber[];
}

/** The runs of each study of this reproduction; a study not run here has no entry. */
export interface ClaimEvidence {
  ctx: StudyContext;
  runs: ReadonlyMap<string, readonly LoadedRun[]>;
}

interface Claim {
  id: string;
  claim: string;
  source: Source;
  test: string;
  /** The studies whose runs it reads. */
  studies: readonly string[];
  evaluate(
    runs: (study: string) => LoadedRun[],
    ctx: StudyContext,
  ): Omit<ClaimResult, 'id' | 'claim' | 'source' | 'test'>;
}

const MOP = ['udaf', 'ctq', 'da', 'export'];

function complete(runs: readonly LoadedRun[]): LoadedRun[] {
  return runs.filter((r) => r.summary.status === 'complete');
}

function of(runs: readonly LoadedRun[], approach: string, workload?: string): LoadedRun[] {
  return runs.filter((r) => r.info.approach === approach && (workload === undefined || r.info.workload === workload));
}

/** Mean of a quantity over an approach's runs; null without runs. */
function meanOf(runs: readonly LoadedRun[], value: (r: LoadedRun) => number | null): number | null {
  const values = runs.map(value).filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length > 0 ? mean(values) : null;
}

const execution = (r: LoadedRun): number => r.summary.executionSeconds;

/** Mean validation loss over the configs at the run's last epoch. */
function finalValidLoss(r: LoadedRun): number | null {
  const last = Math.max(...r.summary.metrics.map((m) => m.epoch));
  const losses = r.summary.metrics.filter((m) => m.epoch === last).map((m) => m.validLoss);
  return losses.length > 0 ? mean(losses) : null;
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));

function notMeasurable(why: string, numbers: ClaimNumber[] = []): ReturnType<Claim['evaluate']> {
  return { verdict: 'not measurable', why, numbers };
}

function missing(approaches: readonly string[], workload: string): string {
  return `no complete ${workload} run of ${approaches.map(approachName).join(', ')}`;
}

const maConverges: Claim = {
  id: 'ma-converges-slower',
  claim: 'MA converges slower than the MOP approaches, which all reach the same optima (ImageNet)',
  source: { artifact: 'Figure 9A', section: '5.1' },
  test:
    "MADlib MA's mean validation loss at the last epoch is above every MOP approach's (UDAF, CTQ, DA-Cerebro, " +
    'Cerebro-Spark)',
  studies: ['table6-fig9'],
  evaluate(runs) {
    const all = complete(runs('table6-fig9'));
    const loss = (a: string) => meanOf(of(all, a, 'imagenet'), finalValidLoss);
    const ma = loss('ma');
    const mop = MOP.map((a) => ({ a, loss: loss(a) }));
    const numbers = [
      { label: `${approachName('ma')} final validation loss`, measured: nullableRound(ma) },
      ...mop.map((m) => ({ label: `${approachName(m.a)} final validation loss`, measured: nullableRound(m.loss) })),
    ];
    const absent = [...(ma === null ? ['ma'] : []), ...mop.filter((m) => m.loss === null).map((m) => m.a)];
    if (absent.length > 0) return notMeasurable(missing(absent, 'imagenet'), numbers);
    const worst = Math.max(...mop.map((m) => m.loss as number));
    return ma! > worst
      ? { verdict: 'holds', why: `MA ends at ${round(ma!)}, above the worst MOP approach's ${round(worst)}`, numbers }
      : {
          verdict: 'does not hold',
          why: `MA ends at ${round(ma!)}, not above the worst MOP approach's ${round(worst)}`,
          numbers,
        };
  },
};

/** Two execution times are "close" within this factor. */
const CLOSE = 1.25;

const executionOrder: Claim = {
  id: 'execution-order',
  claim: 'DA-Cerebro and Cerebro-Spark are close and fastest; CTQ is no slower than UDAF (DA ~ Export < CTQ <= UDAF)',
  source: TABLE6_SOURCE,
  test:
    `on each workload: DA and Export within ${CLOSE}x of each other, both faster than CTQ and UDAF, ` +
    `CTQ <= UDAF x 1.05`,
  studies: ['table6-fig9'],
  evaluate(runs) {
    const all = complete(runs('table6-fig9'));
    const numbers: ClaimNumber[] = [];
    const failures: string[] = [];
    let measuredWorkloads = 0;
    const absent: string[] = [];
    for (const workload of ['imagenet', 'criteo']) {
      const t = Object.fromEntries(MOP.map((a) => [a, meanOf(of(all, a, workload), execution)]));
      const p = Object.fromEntries(MOP.map((a) => [a, publishedTable6Row(workload, a)?.executionHours ?? null]));
      const ratio = (x: number | null, y: number | null): number | null =>
        x !== null && y !== null && y > 0 ? round(x / y) : null;
      numbers.push(
        {
          label: `${workload}: UDAF / DA-Cerebro execution`,
          measured: ratio(t.udaf, t.da),
          published: ratio(p.udaf, p.da),
        },
        {
          label: `${workload}: CTQ / DA-Cerebro execution`,
          measured: ratio(t.ctq, t.da),
          published: ratio(p.ctq, p.da),
        },
        {
          label: `${workload}: Cerebro-Spark / DA-Cerebro execution`,
          measured: ratio(t.export, t.da),
          published: ratio(p.export, p.da),
        },
        { label: `${workload}: CTQ / UDAF execution`, measured: ratio(t.ctq, t.udaf), published: ratio(p.ctq, p.udaf) },
      );
      const none = MOP.filter((a) => t[a] === null);
      if (none.length > 0) {
        absent.push(missing(none, workload));
        continue;
      }
      measuredWorkloads++;
      const [da, ex, ctq, udaf] = [t.da!, t.export!, t.ctq!, t.udaf!];
      if (Math.max(da, ex) / Math.min(da, ex) > CLOSE)
        failures.push(`${workload}: DA and Export differ by ${round(Math.max(da, ex) / Math.min(da, ex))}x`);
      if (Math.max(da, ex) >= Math.min(ctq, udaf))
        failures.push(
          `${workload}: the slower of DA/Export (${round(Math.max(da, ex))} s) is not faster than the faster ` +
            `of CTQ/UDAF (${round(Math.min(ctq, udaf))} s)`,
        );
      if (ctq > udaf * 1.05) failures.push(`${workload}: CTQ is ${round(ctq / udaf)}x UDAF`);
    }
    if (measuredWorkloads === 0) return notMeasurable(absent.join('; '), numbers);
    const gaps = absent.length > 0 ? ` (${absent.join('; ')})` : '';
    return failures.length === 0
      ? { verdict: 'holds', why: `the order holds on ${measuredWorkloads} workload(s)${gaps}`, numbers }
      : { verdict: 'does not hold', why: failures.join('; ') + gaps, numbers };
  },
};

/** "Orders of magnitude": at least this factor. */
const ORDERS = 100;

const ddpBytes: Claim = {
  id: 'ddp-network',
  claim: 'PytorchDDP and DA-PytorchDDP move orders of magnitude more bytes over the network than the MOP approaches',
  source: TABLE6_SOURCE,
  test:
    `the lower of the two DDP approaches' execution-phase network bytes is >= ${ORDERS}x the highest MOP ` +
    `approach's (per workload)`,
  studies: ['table6-fig9'],
  evaluate(runs) {
    const all = complete(runs('table6-fig9'));
    const numbers: ClaimNumber[] = [];
    const verdicts: string[] = [];
    const failures: string[] = [];
    for (const workload of ['imagenet', 'criteo']) {
      const bytes = (a: string) => meanOf(of(all, a, workload), (r) => r.summary.bytes.execution.network);
      const ddp = ['ddp', 'da-ddp'].map(bytes);
      const mop = MOP.map(bytes);
      if (ddp.some((b) => b === null) || mop.some((b) => b === null)) continue;
      const most = Math.max(...(mop as number[]));
      const ratio = most > 0 ? Math.min(...(ddp as number[])) / most : Number.POSITIVE_INFINITY;
      const published = (a: string) => publishedTable6Row(workload, a)?.totalNetworkBytes ?? null;
      const pDdp = ['ddp', 'da-ddp'].map(published);
      const pMop = MOP.map(published);
      const pRatio =
        pDdp.every((b) => b !== null) && pMop.every((b) => b !== null)
          ? round(Math.min(...(pDdp as number[])) / Math.max(...(pMop as number[])))
          : null;
      numbers.push({ label: `${workload}: DDP / most MOP network bytes`, measured: round(ratio), published: pRatio });
      verdicts.push(workload);
      if (!(ratio >= ORDERS)) failures.push(`${workload}: ${round(ratio)}x`);
    }
    if (verdicts.length === 0)
      return notMeasurable(`no workload has complete runs of both DDP approaches and all four MOP approaches`, numbers);
    return failures.length === 0
      ? { verdict: 'holds', why: `on ${verdicts.join(' and ')}`, numbers }
      : { verdict: 'does not hold', why: `below ${ORDERS}x: ${failures.join('; ')}`, numbers };
  },
};

/** Measured speedups within this relative distance of Proposition 1 "follow" it (also bench/hetero.ts's target). */
export const PROPOSITION1_TOLERANCE = 0.25;

const heteroProposition: Claim = {
  id: 'hetero-proposition1',
  claim: "CTQ's speedup over UDAF on heterogeneous configs follows Proposition 1 (and the simulator)",
  source: { artifact: 'Figure 11A', section: '5.2.2' },
  test:
    `for every p, the mean measured T_UDAF / T_CTQ is within ${PROPOSITION1_TOLERANCE * 100}% of Proposition 1 ` +
    `computed from the runs' own l_s, l_m, p`,
  studies: ['fig11'],
  evaluate(runs, ctx) {
    const { points } = fig11Points(runs('fig11'), ctx);
    const ps = [...new Set(points.map((p) => p.p))].sort((a, b) => a - b);
    const numbers: ClaimNumber[] = [];
    const off: string[] = [];
    for (const p of ps) {
      const at = points.filter((x) => x.p === p);
      const measured = mean(at.map((x) => x.measured));
      const prop1 = mean(at.map((x) => x.proposition1));
      const simulated = mean(at.map((x) => x.simulated));
      numbers.push(
        { label: `p=${p}: measured speedup`, measured: round(measured) },
        { label: `p=${p}: Proposition 1`, measured: round(prop1) },
        { label: `p=${p}: simulator`, measured: round(simulated) },
      );
      if (!Number.isFinite(prop1)) off.push(`p=${p}: Proposition 1 has no value (l_s or l_m unmeasured)`);
      else if (Math.abs(measured / prop1 - 1) > PROPOSITION1_TOLERANCE)
        off.push(`p=${p}: measured ${round(measured)} vs ${round(prop1)}`);
    }
    if (ps.length === 0) return notMeasurable('no p has a complete udaf and ctq run');
    return off.length === 0
      ? { verdict: 'holds', why: `within ${PROPOSITION1_TOLERANCE * 100}% at p = ${ps.join(', ')}`, numbers }
      : { verdict: 'does not hold', why: off.join('; ') + fewConfigs(points), numbers };
  },
};

/** Proposition 1 assumes M >> W; say so where the runs had few configs per worker. */
function fewConfigs(points: readonly { configs: number; segments: number }[]): string {
  const p = points[0];
  if (!p || p.configs >= 4 * p.segments) return '';
  return (
    ` (M = ${p.configs} configs on W = ${p.segments} workers: Proposition 1 assumes M >> W, ` +
    "so the simulator on the runs' own times is the like-for-like comparison)"
  );
}

/** Per-epoch model transmission machine seconds of a run (mean over epochs). */
function modelTransmission(r: LoadedRun): number | null {
  return r.summary.breakdown.length > 0 ? meanBreakdownOf(r, 'modelTransmission') : null;
}

const sizeOf = (r: LoadedRun): string => String(r.info.workloadOptions?.size ?? r.info.options.size ?? 'all');

const hopCost: Claim = {
  id: 'hop-cost-model-size',
  claim: "UDAF's model transmission grows with the model size; CTQ's is far less sensitive to it",
  source: { artifact: 'Figure 15', section: '5.2.3, appendix C' },
  test:
    "from the smallest to the largest model, UDAF's per-epoch model transmission grows, " +
    "and by more seconds than CTQ's",
  studies: ['fig15'],
  evaluate(runs) {
    const all = complete(runs('fig15'));
    const at = (a: string, size: string) =>
      meanOf(
        of(all, a).filter((r) => sizeOf(r) === size),
        modelTransmission,
      );
    const numbers: ClaimNumber[] = [];
    for (const a of ['udaf', 'ctq']) {
      for (const size of ['small', 'medium', 'large']) {
        numbers.push({
          label: `${approachName(a)}, ${size} model: model transmission s/epoch`,
          measured: nullableRound(at(a, size)),
        });
      }
    }
    const [us, ul, cs, cl] = [at('udaf', 'small'), at('udaf', 'large'), at('ctq', 'small'), at('ctq', 'large')];
    if (us === null || ul === null || cs === null || cl === null) {
      return notMeasurable('the small and large models need a complete udaf and ctq run each', numbers);
    }
    const udafGrowth = ul - us;
    const ctqGrowth = cl - cs;
    numbers.push(
      { label: 'UDAF growth small -> large (s/epoch)', measured: round(udafGrowth) },
      { label: 'CTQ growth small -> large (s/epoch)', measured: round(ctqGrowth) },
    );
    return udafGrowth > 0 && udafGrowth > ctqGrowth
      ? { verdict: 'holds', why: `UDAF +${round(udafGrowth)} s/epoch, CTQ ${signed(ctqGrowth)} s/epoch`, numbers }
      : {
          verdict: 'does not hold',
          why: `UDAF ${signed(udafGrowth)} s/epoch, CTQ ${signed(ctqGrowth)} s/epoch`,
          numbers,
        };
  },
};

function nullableRound(x: number | null): number | null {
  return x === null ? null : round(x);
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${round(x)}`;
}

/** "Near-linear": the speedup on the most segments is at least this share of the segment ratio. */
const NEAR_LINEAR = 0.7;

const strongScaling: Claim = {
  id: 'strong-scaling',
  claim: 'every MOP approach scales close to linearly from 1 to 8 workers',
  source: { artifact: 'Figure 10A', section: '5.2.1' },
  test:
    `each approach's speedup from 1 segment to the most is >= ${NEAR_LINEAR} x the segment ratio; ` +
    `measurable only where the machine has a core per segment`,
  studies: ['fig10'],
  evaluate(runs) {
    const all = complete(runs('fig10'));
    const most = Math.max(0, ...all.map((r) => r.info.segments));
    const numbers: ClaimNumber[] = [];
    const below: string[] = [];
    const absent: string[] = [];
    for (const a of MOP) {
      const t1 = meanOf(
        of(all, a).filter((r) => r.info.segments === 1),
        execution,
      );
      const tn = meanOf(
        of(all, a).filter((r) => r.info.segments === most),
        execution,
      );
      if (t1 === null || tn === null || most <= 1) {
        absent.push(a);
        continue;
      }
      const speedup = t1 / tn;
      numbers.push({
        label: `${approachName(a)} speedup 1 -> ${most} segments`,
        measured: round(speedup),
        published: null,
      });
      if (speedup < NEAR_LINEAR * most) below.push(`${approachName(a)} ${round(speedup)}x`);
    }
    if (numbers.length === 0) return notMeasurable(`no approach has a complete run on 1 segment and on more`, numbers);
    const cores = Math.min(...all.map((r) => coresOf(r)));
    if (cores < most) {
      return notMeasurable(
        `the machine has ${cores} core${cores === 1 ? '' : 's'} for ${most} segments: beyond ${cores} segments the ` +
          `workers share cores, so strong scaling cannot show here (numbers shown for the record)`,
        numbers,
      );
    }
    const partial = absent.length > 0 ? ` (no runs for ${absent.map(approachName).join(', ')})` : '';
    return below.length === 0
      ? { verdict: 'holds', why: `every speedup >= ${NEAR_LINEAR * most}x${partial}`, numbers }
      : { verdict: 'does not hold', why: `below ${NEAR_LINEAR * most}x: ${below.join(', ')}${partial}`, numbers };
  },
};

/** CPUs the run could use: its affinity list where recorded, else the machine's cores. */
export function coresOf(r: LoadedRun): number {
  const affinity = r.info.environment.cpuAffinity;
  if (!affinity) return r.info.environment.cpuCores;
  let n = 0;
  for (const part of affinity.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    n += hi === undefined ? 1 : hi - lo + 1;
  }
  return n > 0 ? n : r.info.environment.cpuCores;
}

/** Measured blowups within this relative distance of the paper's count as equal. */
const BLOWUP_TOLERANCE = 0.15;

const storageBlowup: Claim = {
  id: 'storage-blowup',
  claim:
    'storage blowup: Cerebro-Spark and PytorchDDP 2x, UDAF, CTQ and DA none (1x), ' +
    'Hyperopt-Spark one replica per worker',
  source: TABLE3_SOURCE,
  test:
    `each approach's logical blowup ((data + copies) / data) within ${BLOWUP_TOLERANCE * 100}% of the paper's; ` +
    `task-parallel expects 1 + segments (the paper: 9x on 8 workers)`,
  studies: ['table6-fig9', 'table2-table3', 'fig12-table7'],
  evaluate(runs) {
    const all = complete([...runs('table6-fig9'), ...runs('table2-table3'), ...runs('fig12-table7')]);
    const numbers: ClaimNumber[] = [];
    const off: string[] = [];
    for (const [a, published] of Object.entries(PUBLISHED_BLOWUP)) {
      const rs = of(all, a).filter((r) => r.summary.storage !== null);
      if (rs.length === 0) continue;
      const measured = mean(rs.map((r) => r.summary.storage!.blowupLogical));
      const expected = published.perWorker ? mean(rs.map((r) => 1 + r.info.segments)) : published.value;
      numbers.push({
        label: `${approachName(a)} blowup (x)`,
        measured: round(measured),
        published: published.perWorker ? round(expected) : published.value,
      });
      if (Math.abs(measured / expected - 1) > BLOWUP_TOLERANCE)
        off.push(`${approachName(a)} ${round(measured)}x (expected ${round(expected)}x)`);
    }
    if (numbers.length === 0) return notMeasurable('no complete run recorded its storage sizes');
    return off.length === 0
      ? { verdict: 'holds', why: `${numbers.length} approaches match`, numbers }
      : { verdict: 'does not hold', why: off.join('; '), numbers };
  },
};

/** Best validation errors within this spread count as "within the margin". */
const SEARCH_MARGIN = 0.05;

const searchQuality: Claim = {
  id: 'search-quality',
  claim: 'with a TPE search, every approach reaches about the same best validation error',
  source: FIG12_SOURCE,
  test:
    `the best validation errors of the approaches that ran the search are within ${SEARCH_MARGIN} of each other ` +
    `(the paper: 0.31-0.33)`,
  studies: ['fig12-table7'],
  evaluate(runs) {
    const searches = complete(runs('fig12-table7')).filter(isSearchRun);
    const rows = searchGroups(searches).flatMap(bestErrors);
    const numbers: ClaimNumber[] = rows.map((row) => ({
      label: `${row.approach} best validation error`,
      measured: nullableRound(row.bestError),
      published: publishedBestError(row.approach),
    }));
    const errors = rows.map((r) => r.bestError).filter((e): e is number => e !== null);
    if (errors.length < 2) return notMeasurable('fewer than two approaches completed the search', numbers);
    const [low, high] = [Math.min(...errors), Math.max(...errors)];
    const why =
      low === high
        ? `every approach's best error is ${round(low)}`
        : `the best errors range from ${round(low)} to ${round(high)} (${round(high - low)} apart)`;
    return { verdict: high - low <= SEARCH_MARGIN ? 'holds' : 'does not hold', why, numbers };
  },
};

/** Rows of the search report are labelled with the paper's names: find the id back. */
function publishedBestError(label: string): number | null {
  for (const [id, value] of Object.entries(PUBLISHED_FIG12_BEST_ERROR)) {
    if (label.startsWith(approachName(id))) return value;
  }
  return null;
}

export const CLAIMS: readonly Claim[] = [
  maConverges,
  executionOrder,
  ddpBytes,
  heteroProposition,
  hopCost,
  strongScaling,
  storageBlowup,
  searchQuality,
];

/** Every claim with its verdict; a claim whose studies were not part of the reproduction says so. */
export function evaluateClaims(evidence: ClaimEvidence): ClaimResult[] {
  return CLAIMS.map((c) => {
    const head = { id: c.id, claim: c.claim, source: c.source, test: c.test };
    const absent = c.studies.filter((s) => !evidence.runs.has(s));
    if (absent.length === c.studies.length) {
      return {
        ...head,
        ...notMeasurable(`study ${absent.join(', ')} was not run in this reproduction (not asked for, or refused)`),
      };
    }
    const runs = (study: string): LoadedRun[] => [...(evidence.runs.get(study) ?? [])];
    try {
      return { ...head, ...c.evaluate(runs, evidence.ctx) };
    } catch (error) {
      return { ...head, ...notMeasurable(`could not be computed: ${(error as Error).message}`) };
    }
  });
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function formatNumber(x: number | null | undefined): string {
  if (x === undefined) return '';
  if (x === null) return 'n/a';
  return String(x);
}

export function claimsMarkdown(results: readonly ClaimResult[], caption: string): string {
  const lines = [
    '# Claims of the paper, checked against the runs',
    '',
    caption,
    '',
    '| claim | source | verdict | why |',
    '|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${cell(r.claim)} | ${cell(`${r.source.artifact} (section ${r.source.section})`)} | **${r.verdict}** ` +
        `| ${cell(r.why)} |`,
    ),
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.id}: ${r.verdict}`, '', r.claim, '', `Test: ${r.test}.`, '');
    if (r.numbers.length > 0) {
      lines.push('| quantity | measured | published |', '|---|---|---|');
      for (const n of r.numbers)
        lines.push(`| ${cell(n.label)} | ${formatNumber(n.measured)} | ${formatNumber(n.published)} |`);
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
