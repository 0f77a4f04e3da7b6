// Runs a search session to its end without training: jobs finish in an order drawn from
// `orderSeed` (standing in for timing), each result a function of the job.
import { mulberry32 } from '../../src/sched/random.js';
import { SearchSession, type SearchJob, type ToldResult } from '../../src/search/session.js';
import type { Searcher } from '../../src/search/types.js';

export interface DrivenSearch {
  jobs: SearchJob[];
  told: ToldResult[];
  /** The most jobs in flight at once. */
  maxInFlight: number;
}

export async function driveSearch(
  searcher: Searcher,
  inFlight: number,
  result: (job: SearchJob) => number | null,
  orderSeed: number,
): Promise<DrivenSearch> {
  const session = new SearchSession(searcher, inFlight);
  const random = mulberry32(orderSeed);
  const first = await session.start();
  const running: SearchJob[] = [...first.jobs];
  const told: ToldResult[] = [...first.told];
  let maxInFlight = running.length;
  while (running.length > 0) {
    const [finished] = running.splice(Math.floor(random() * running.length), 1);
    const step = await session.report(finished.job, result(finished));
    running.push(...step.jobs);
    told.push(...step.told);
    maxInFlight = Math.max(maxInFlight, running.length);
  }
  await session.close();
  if (!session.done) throw new Error('driveSearch: nothing runs but the search is not done');
  return { jobs: [...session.jobs], told, maxInFlight };
}

/** A loss surface over the Figure 12 space: lowest near lr 1e-3, batch 64, resnet18. */
export function syntheticLoss(params: Record<string, string | number>, epochs: number): number {
  const lr = Number(params.learningRate);
  const batch = Number(params.batchSize);
  const arch = params.arch === 'resnet18' ? 0 : 0.1;
  return (Math.log10(lr) + 3) ** 2 + (Math.log2(batch) - 6) ** 2 / 10 + arch + 1 / epochs;
}
