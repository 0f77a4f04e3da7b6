// `bench reproduce --scale tiny|small --repeats K --out DIR` (docs/studies.md): every study in the
// registry's order (or those --studies names), each into DIR/<id>/, then DIR/index.html over all.
// A study that is refused (it cannot run here) or has failed runs does not stop the others; the
// exit code says so (1).
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { renderReproduceHtml, type StudySection } from '../../../reports/reproduce-html.js';
import { getStudy, STUDIES } from '../../../studies/index.js';
import { StudyError } from '../../../studies/types.js';
import { Output } from '../output.js';
import { Progress } from '../progress.js';
import { runStudy, studyContext, studySummary, withStudyFlags, type StudyFlags } from './study.js';

interface ReproduceArgs extends StudyFlags {
  out: string;
  studies?: string;
  title?: string;
}

export const reproduceCommand: CommandModule<object, ReproduceArgs> = {
  command: 'reproduce',
  describe:
    "run every study of the paper's evaluation (what is missing), then write one report indexing every artifact",
  builder: (yargs: Argv<object>) =>
    withStudyFlags(yargs)
      .option('out', { type: 'string', default: 'repro', describe: 'folder for the studies and index.html' })
      .option('studies', {
        type: 'string',
        describe: `only these studies, comma-separated (default all: ${STUDIES.map((s) => s.id).join(', ')})`,
      })
      .option('title', { type: 'string', describe: 'title of index.html' }) as unknown as Argv<ReproduceArgs>,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const ctx = studyContext(args);
    const studies = args.studies ? args.studies.split(',').map((s) => getStudy(s.trim())) : [...STUDIES];
    const out = resolve(args.out);
    const sections: StudySection[] = [];
    const lines: string[] = [];
    const progress = new Progress(output);
    try {
      const job = progress.startJob({ label: `reproduce (${ctx.scale})`, total: studies.length, noun: 'studies' });
      for (const study of studies) {
        const dir = join(out, study.id);
        const base = {
          id: study.id,
          artifact: study.artifact,
          description: study.description,
          dir: relative(out, dir),
        };
        try {
          const { result, written } = await runStudy(study, ctx, args, dir, job, output);
          const count = (o: string): number => result.answered.filter((a) => a.origin === o).length;
          const tables = result.artifacts.files.filter((f) => f.name.endsWith('.md'));
          sections.push({
            ...base,
            runs: { reused: count('reused'), ran: count('ran'), failed: count('failed') },
            notes: [...result.artifacts.notes, ...written.warnings],
            tables,
            figures: written.figures,
          });
          lines.push(studySummary(result, written));
        } catch (error) {
          if (!(error instanceof StudyError)) throw error;
          sections.push({
            ...base,
            refused: error.message,
            runs: { reused: 0, ran: 0, failed: 0 },
            notes: [],
            tables: [],
            figures: [],
          });
          lines.push(`study ${study.id}: refused: ${error.message}`);
        }
      }
      job.finish();
    } finally {
      progress.close();
    }
    const index = join(out, 'index.html');
    await writeFile(
      index,
      renderReproduceHtml({
        title: args.title ?? `bench reproduce (${ctx.scale} scale)`,
        generatedAt: new Date().toISOString(),
        scale: ctx.scale,
        repeats: ctx.repeats,
        studies: sections,
      }),
    );
    for (const line of lines) output.result(line);
    const bad = sections.filter((s) => s.refused || s.runs.failed > 0);
    output.final(
      `${sections.length} studies (${bad.length} refused or partial) in ${relative(process.cwd(), out) || '.'}; open ${index}`,
    );
    output.json({
      type: 'result',
      command: 'reproduce',
      index,
      studies: sections.map(({ figures, tables, ...s }) => ({
        ...s,
        figures: figures.map((f) => f.name),
        tables: tables.map((t) => t.name),
      })),
    });
    if (bad.length > 0) process.exitCode = 1;
  },
};
