// `bench list`: what can be run.
import type { CommandModule } from 'yargs';
import { APPROACHES } from '../../../approaches/index.js';
import { WORKLOADS } from '../../../workloads/index.js';
import { SCALES } from '../../core/workload.js';
import { formatTable } from '../format.js';
import { declaredOptionsText } from './run.js';

export const listCommand: CommandModule = {
  command: 'list',
  describe: 'list approaches, workloads and scales',
  handler: () => {
    console.log(
      'Approaches\n' +
        formatTable(
          ['id', 'scheduling', 'execution', 'data access', 'models live', 'searches'],
          Object.values(APPROACHES).map((a) => [
            a.id,
            a.layers.scheduling,
            a.layers.execution,
            a.layers.dataAccess,
            a.layers.modelsLive,
            a.searches ? 'yes' : 'no',
          ]),
        ),
    );
    console.log(
      '\nWorkloads\n' +
        formatTable(
          ['id', 'description'],
          Object.values(WORKLOADS).map((w) => [w.id, w.description]),
        ),
    );
    console.log(`\nScales: ${SCALES.join(', ')}`);
    console.log(`\n${declaredOptionsText()}`);
  },
};
