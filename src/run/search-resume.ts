// A resumed search's configs (docs/search.md): put back into the workload from the earlier
// attempt's events before anything reads it (the approach's resume checks, the ETL). The search
// itself replays later and checks that it proposes the same configs.
import type { RunEvent } from '../core/events.js';
import type { ResolvedWorkload } from '../core/workload.js';

export function restoreSearchConfigs(workload: ResolvedWorkload, prior: readonly RunEvent[]): void {
  if (!workload.search || workload.configs.length > 0) return;
  for (const event of prior) {
    if (event.type !== 'search-config') continue;
    if (event.config.id !== workload.configs.length) {
      throw new Error(
        `cannot resume the search: its events list config ${event.config.id} after ${workload.configs.length} configs`,
      );
    }
    workload.configs.push(event.config);
  }
}
