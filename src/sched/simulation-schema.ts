// The on-disk format of `bench simulate --out <dir>`: <dir>/simulation.json. Reports read only what
// this schema accepts.
import { z } from 'zod';

export const SIMULATION_FILE = 'simulation.json';

const positive = z.number().positive();
const count = z.number().int().min(1);
const probability = z.number().min(0).max(1);

export const simulationParamsSchema = z.object({
  /** M: configs trained together. */
  configs: count,
  /** W values swept. */
  workers: z.array(count).min(1),
  /** p values swept: the probability that a config is short. */
  p: z.array(probability).min(1),
  /** Sub-epoch runtime of a short config. */
  ls: positive,
  /** Sub-epoch runtime of a long config. */
  lm: positive,
  epochs: count,
  /** Repeat r simulates with seed + r. */
  seed: z.number().int(),
  repeats: count,
});
export type SimulationParams = z.infer<typeof simulationParamsSchema>;

export const simulationPointSchema = z.object({
  workers: count,
  p: probability,
  ls: positive,
  lm: positive,
  configs: count,
  epochs: count,
  /** Mean makespan over the repeats, in the unit of ls and lm. */
  syncMakespan: positive,
  asyncMakespan: positive,
  /** Mean over the repeats of syncMakespan / asyncMakespan. */
  speedup: positive,
  /** Proposition 1's expected speedup for (p, W, ls, lm). */
  prop1: positive,
  /** Proposition 2's bound eta = lm / lbar. */
  prop2: positive,
});
export type SimulationPoint = z.infer<typeof simulationPointSchema>;

export const simulationFileSchema = z.object({
  kind: z.literal('simulation'),
  /** ISO 8601 time the file was written. */
  createdAt: z.iso.datetime(),
  params: simulationParamsSchema,
  /** One point per (workers, p), workers-major in the order of params. */
  points: z.array(simulationPointSchema),
});
export type SimulationFile = z.infer<typeof simulationFileSchema>;
