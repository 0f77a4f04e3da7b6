// The registry of studies (docs/studies.md, "Adding a study"), in the order `bench reproduce` runs
// them: the one without runs (fig16, simulated) first, then the cheap ones that share runs, fig15
// (runs of its own on the same cluster size), the cluster rebuilds of fig10 late, and the study
// that may be refused (searches) last.
import { fig10 } from './fig10.js';
import { fig11 } from './fig11.js';
import { fig12Table7 } from './fig12-table7.js';
import { fig15 } from './fig15.js';
import { fig16 } from './fig16.js';
import { table2Table3 } from './table2-table3.js';
import { table6Fig9 } from './table6-fig9.js';
import type { Study } from './types.js';

export const STUDIES: readonly Study[] = [fig16, table2Table3, table6Fig9, fig11, fig15, fig10, fig12Table7];

export function studyIds(): string[] {
  return STUDIES.map((s) => s.id);
}

export function getStudy(id: string): Study {
  const study = STUDIES.find((s) => s.id === id);
  if (!study) throw new Error(`unknown study "${id}"; studies: ${studyIds().join(', ')}`);
  return study;
}
