// `bench report <runs..> --out <dir> [--simulation file]`: Table 6, Figure 9, Gantt charts and the
// simulation study from stored runs, as Markdown, CSV, Vega-Lite, SVG, PNG and one index.html.
import type { Argv, CommandModule } from 'yargs';
import { buildReport } from '../../../reports/build.js';
import { RenderError } from '../../../reports/render.js';
import { RunFolderError } from '../../store/read.js';
import { Output, withOutputFlags, type OutputFlags } from '../output.js';
import { Progress } from '../progress.js';

export interface ReportArgs extends OutputFlags {
  runs: string[];
  out: string;
  simulation?: string;
  title?: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <runs..>',
  describe:
    'render Table 6 and the figures from run folders (folders, folders of runs, or quoted globs like "runs/*-ctq-*")',
  builder: (yargs: Argv<object>) =>
    withOutputFlags(yargs)
      .positional('runs', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'run folders, folders holding run folders, or glob patterns',
      })
      .option('out', { type: 'string', default: 'report', describe: 'folder to write the report into' })
      .option('simulation', { type: 'string', describe: 'a simulation.json written by `bench simulate`' })
      .option('title', { type: 'string', describe: 'title of index.html' }) as unknown as Argv<ReportArgs>,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const progress = new Progress(output);
    try {
      const task = progress.startTask(`building the report in ${args.out}`);
      const options = { simulation: args.simulation, title: args.title };
      const result = await buildReport(args.runs, args.out, options).finally(() => task.finish());
      const incomplete = result.runs.filter((r) => r.summary.status !== 'complete');
      for (const w of result.warnings) output.warn(w);
      const index = result.files.find((f) => f.endsWith('index.html'));
      const marked = incomplete.length > 0 ? ` (${incomplete.length} incomplete, marked as such)` : '';
      output.final(
        `report of ${result.runs.length} run(s)${marked}: ${result.files.length} files in ${args.out}; open ${index}`,
      );
      if (result.unreadable.length > 0) {
        output.warn(
          `${result.unreadable.length} run folder(s) could not be read and are left out of the report: ` +
            result.unreadable.join(', '),
        );
      }
      output.json({
        type: 'result',
        command: 'report',
        runs: result.runs.map((r) => r.dir),
        incomplete: incomplete.map((r) => r.dir),
        unreadable: result.unreadable,
        warnings: result.warnings,
        files: result.files,
        index,
      });
    } catch (error) {
      if (error instanceof RunFolderError || error instanceof RenderError) {
        output.error(`bench report: ${error.message}`);
        process.exitCode = 2;
        return;
      }
      throw error;
    } finally {
      progress.close();
    }
  },
};
