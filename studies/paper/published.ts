// The paper's published numbers (docs/studies.md, "Published numbers"), one place for every value
// the reports set beside what the runs measure. Transcribed from the tech report "Distributed Deep
// Learning on Data Systems: A Comparative Analysis of Approaches" (Zhang et al.); the text we have
// carries no page numbers, so each value cites its section and table or figure instead.
//
// Absolute times are not comparable across machines (the paper: 8 nodes with a P100 each, 10 Gbps;
// here: whatever ran the study), so the reports compare *ratios* (UDAF/DA execution, CTQ/UDAF, ...).
// Values that exist only in a figure's image (the points of Figures 11 and 16, the curves of 9A and
// 12) are not here: the text does not give them.

/** Where a value comes from in the paper. */
export interface Source {
  artifact: string;
  section: string;
}

export const TABLE6_SOURCE: Source = { artifact: 'Table 6', section: '5.1' };
export const TABLE7_SOURCE: Source = { artifact: 'Table 7', section: 'appendix E' };
export const FIG12_SOURCE: Source = { artifact: 'Figure 12 caption', section: '5.2.4' };
export const TABLE3_SOURCE: Source = { artifact: 'Table 3', section: '4' };
export const HYPEROPT_BLOWUP_SOURCE: Source = { artifact: 'text', section: '5.2.4' };
export const LOC_SOURCE: Source = { artifact: 'text', section: '5.2.5' };

/** One row of Table 6. Hours, percent, bytes; null where the paper prints N/A or None. */
export interface PublishedTable6Row {
  approach: string;
  etlHours: number;
  executionHours: number;
  epochHours: number;
  gpuUtilPct: number | null;
  gpuMemPct: number | null;
  cpuPct: number;
  dramPct: number;
  totalNetworkBytes: number;
  diskReadPerWorkerBytes: number | null;
  diskWritePerWorkerBytes: number;
}

const GB = 1e9;
const TB = 1e12;

/** Table 6 (end-to-end, 8 workers; ImageNet 10 epochs on GPUs, Criteo 5 epochs on CPUs). DDP did not run on Criteo. */
export const PUBLISHED_TABLE6: Readonly<Record<'imagenet' | 'criteo', readonly PublishedTable6Row[]>> = {
  imagenet: [
    row('ma', 2.8, 42.6, 4.3, 56.8, 32.5, 2.3, 3.1, 0.9 * TB, 12 * GB, 2 * GB),
    row('udaf', 2.8, 48.5, 4.9, 49.9, 28.6, 2.2, 5.6, 0.8 * TB, 12 * GB, 279 * GB),
    row('ctq', 2.8, 45.1, 4.5, 56.2, 32.2, 2.5, 1.9, 0.6 * TB, 12 * GB, 152 * GB),
    row('da', 5.4, 23.0, 2.3, 70.5, 42.5, 2.8, 20.2, 0.6 * TB, 0.6 * GB, 0.3 * GB),
    row('export', 4.4, 23.9, 2.4, 65.1, 36.5, 11.2, 17.4, 1.1 * TB, 0.2 * GB, 2 * GB),
    row('ddp', 4.4, 77.3, 7.7, 97.1, 13.1, 8.1, 14.7, 1900 * TB, null, 11 * GB),
    row('da-ddp', 5.4, 77.5, 7.8, 96.8, 13.2, 8.2, 21.1, 1900 * TB, null, 1 * GB),
  ],
  criteo: [
    row('ma', 8.6, 38.5, 7.7, null, null, 44.1, 2.3, 0.1 * TB, 1 * GB, 2 * GB),
    row('udaf', 8.6, 62.0, 12.4, null, null, 27.1, 2.3, 0.1 * TB, 1 * GB, 38 * GB),
    row('ctq', 8.6, 40.0, 8.0, null, null, 41.0, 1.9, 0.08 * TB, 1 * GB, 22 * GB),
    row('da', 10.5, 21.5, 4.3, null, null, 37.4, 28.5, 0.07 * TB, 0.2 * GB, 0.3 * GB),
    row('export', 8.3, 22.5, 4.5, null, null, 35.2, 28.5, 0.2 * TB, 0.2 * GB, 1 * GB),
  ],
};

function row(
  approach: string,
  etlHours: number,
  executionHours: number,
  epochHours: number,
  gpuUtilPct: number | null,
  gpuMemPct: number | null,
  cpuPct: number,
  dramPct: number,
  totalNetworkBytes: number,
  diskReadPerWorkerBytes: number | null,
  diskWritePerWorkerBytes: number,
): PublishedTable6Row {
  return {
    approach,
    etlHours,
    executionHours,
    epochHours,
    gpuUtilPct,
    gpuMemPct,
    cpuPct,
    dramPct,
    totalNetworkBytes,
    diskReadPerWorkerBytes,
    diskWritePerWorkerBytes,
  };
}

/** Table 7 (the Hyperopt experiments of Figure 12): utilisations, total network, per-worker disk R/W. */
export interface PublishedTable7Row {
  approach: string;
  gpuUtilPct: number;
  gpuMemPct: number;
  cpuPct: number;
  dramPct: number;
  totalNetworkBytes: number;
  diskReadPerWorkerBytes: number;
  diskWritePerWorkerBytes: number;
}

export const PUBLISHED_TABLE7: readonly PublishedTable7Row[] = [
  {
    approach: 'udaf',
    gpuUtilPct: 32.5,
    gpuMemPct: 16.2,
    cpuPct: 2.4,
    dramPct: 7.2,
    totalNetworkBytes: 600 * GB,
    diskReadPerWorkerBytes: 12 * GB,
    diskWritePerWorkerBytes: 173 * GB,
  },
  {
    approach: 'ctq',
    gpuUtilPct: 33.2,
    gpuMemPct: 16.5,
    cpuPct: 2.5,
    dramPct: 1.5,
    totalNetworkBytes: 600 * GB,
    diskReadPerWorkerBytes: 12 * GB,
    diskWritePerWorkerBytes: 92 * GB,
  },
  {
    approach: 'da',
    gpuUtilPct: 45.3,
    gpuMemPct: 24.1,
    cpuPct: 2.0,
    dramPct: 20.2,
    totalNetworkBytes: 500 * GB,
    diskReadPerWorkerBytes: 0.7 * GB,
    diskWritePerWorkerBytes: 6.7 * GB,
  },
  {
    approach: 'export',
    gpuUtilPct: 43.6,
    gpuMemPct: 24.2,
    cpuPct: 13.4,
    dramPct: 15.8,
    totalNetworkBytes: 1000 * GB,
    diskReadPerWorkerBytes: 0.3 * GB,
    diskWritePerWorkerBytes: 2 * GB,
  },
  {
    approach: 'task-parallel',
    gpuUtilPct: 44.6,
    gpuMemPct: 24.0,
    cpuPct: 4.2,
    dramPct: 3.6,
    totalNetworkBytes: 20 * GB,
    diskReadPerWorkerBytes: 3000 * GB,
    diskWritePerWorkerBytes: 4 * GB,
  },
];

/** Figure 12's caption: the best validation error each approach reached in the Hyperopt search. */
export const PUBLISHED_FIG12_BEST_ERROR: Readonly<Record<string, number>> = {
  export: 0.31,
  udaf: 0.33,
  ctq: 0.31,
  da: 0.33,
  'task-parallel': 0.31,
};

/**
 * Storage blowup, (actual storage) / (original data size): Table 3 (udaf/ctq None, da None-2x,
 * Cerebro-Spark 2x) and section 5.2.4 (Hyperopt-Spark 9x with 8 workers: a full replica per worker
 * besides the database's copy; Cerebro-Spark 2x; DA none). `perWorker` marks a blowup of 1 + workers.
 */
export const PUBLISHED_BLOWUP: Readonly<
  Record<string, { value: number; perWorker?: true; text: string; source: Source }>
> = {
  udaf: { value: 1, text: 'None', source: TABLE3_SOURCE },
  ctq: { value: 1, text: 'None', source: TABLE3_SOURCE },
  da: { value: 1, text: 'None (up to 2x with swap)', source: TABLE3_SOURCE },
  export: { value: 2, text: '2x', source: TABLE3_SOURCE },
  ddp: { value: 2, text: '2x', source: { artifact: 'text on Figure 9', section: '5.1' } },
  'da-ddp': { value: 1, text: 'None', source: { artifact: 'text on Figure 9', section: '5.1' } },
  'task-parallel': { value: 9, perWorker: true, text: '9x on 8 workers', source: HYPEROPT_BLOWUP_SOURCE },
};

/** Lines of code of each implementation (section 5.2.5). */
export const PUBLISHED_LOC: Readonly<Record<string, number>> = { udaf: 5866, ctq: 5939, da: 4230, export: 4338 };

/** The paper's Table 2 (IN: in-DBMS, OUT: out-of-DBMS). */
export const PAPER_TABLE2: Readonly<
  Record<string, { interface: string; scheduling: string; execution: string; dataAccess: string; storage: string }>
> = {
  udaf: { interface: 'SQL', scheduling: 'IN', execution: 'IN', dataAccess: 'IN', storage: 'IN' },
  ctq: { interface: 'Python', scheduling: 'OUT', execution: 'IN', dataAccess: 'IN', storage: 'IN' },
  da: { interface: 'Python', scheduling: 'OUT', execution: 'OUT', dataAccess: 'OUT', storage: 'IN/OUT' },
  export: { interface: 'Python', scheduling: 'OUT', execution: 'OUT', dataAccess: 'OUT', storage: 'OUT' },
};

/** The paper's Table 3. */
export const PAPER_TABLE3: Readonly<
  Record<
    string,
    {
      efficiency: string;
      governance: string;
      blowup: string;
      difficulty: string;
      portability: string;
      antiPatterns: string;
    }
  >
> = {
  udaf: {
    efficiency: 'Medium',
    governance: 'Highest',
    blowup: 'None',
    difficulty: 'Medium',
    portability: 'Medium',
    antiPatterns: 'No',
  },
  ctq: {
    efficiency: 'High',
    governance: 'High-Highest',
    blowup: 'None',
    difficulty: 'Medium',
    portability: 'Medium',
    antiPatterns: 'Yes',
  },
  da: {
    efficiency: 'Highest',
    governance: 'High',
    blowup: 'None - 2x',
    difficulty: 'Hard',
    portability: 'Low',
    antiPatterns: 'Yes',
  },
  export: {
    efficiency: 'Highest',
    governance: 'Low',
    blowup: '2x',
    difficulty: 'Easy',
    portability: 'High',
    antiPatterns: 'N/A',
  },
};

/** The paper's execution-time ranking of a Table 6 section, fastest first. */
export function publishedRanking(workload: 'imagenet' | 'criteo'): string[] {
  return [...PUBLISHED_TABLE6[workload]].sort((a, b) => a.executionHours - b.executionHours).map((r) => r.approach);
}

/** A published Table 6 row, or undefined where the paper has none (DDP on Criteo, task-parallel). */
export function publishedTable6Row(workload: string, approach: string): PublishedTable6Row | undefined {
  if (workload !== 'imagenet' && workload !== 'criteo') return undefined;
  return PUBLISHED_TABLE6[workload].find((r) => r.approach === approach);
}
