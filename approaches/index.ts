// The registry of approaches: one module each, registered here (docs/architecture.md, "Adding an approach").
import type { Approach } from '../src/core/approach.js';
import { didYouMean, ownEntry } from '../src/core/options.js';
import { udaf } from './udaf.js';
import { exportApproach } from './export.js';
import { ctq } from './ctq.js';
import { ma } from './ma.js';
import { taskParallel } from './task-parallel.js';
import { da } from './da.js';
import { ddp } from './ddp.js';
import { daDdp } from './da-ddp.js';

export const APPROACHES: Readonly<Record<string, Approach>> = {
  udaf,
  export: exportApproach,
  ctq,
  ma,
  'task-parallel': taskParallel,
  da,
  ddp,
  'da-ddp': daDdp,
};

export function approachIds(): string[] {
  return Object.keys(APPROACHES);
}

export function getApproach(id: string): Approach {
  const approach = ownEntry(APPROACHES, id);
  if (!approach)
    throw new Error(
      `unknown approach "${id}"${didYouMean(id, approachIds())}; valid approaches: ${approachIds().join(', ')}`,
    );
  return approach;
}
