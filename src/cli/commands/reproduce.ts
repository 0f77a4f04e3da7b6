// `bench reproduce --scale tiny|small --repeats K --out DIR` (docs/studies.md): every study in the
// registry's order (or those --studies names), each into DIR/<id>/, then DIR/index.html over all.
// A study that is refused (it cannot run here) or has failed runs does not stop the others; the
// exit code says so (1).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { renderReproduceHtml, type StudySection } from '../../../studies/reproduce-html.js';
import { claimsMarkdown, evaluateClaims } from '../../../studies/claims.js';
import { headline, headlineMarkdown } from '../../../studies/headline.js';
import {
  type Estimate,
  type EstimateCheck,
  estimateRun,
  estimateChecksMarkdown,
  planMarkdown,
  planStudies,
  readRunEstimate,
  StoredRunCache,
  writeRunEstimate,
} from '../../../studies/estimate.js';
import { describeRequest } from '../../../studies/execute.js';
import { getStudy, STUDIES } from '../../../studies/index.js';
import { defaultRunsDir } from '../../run/harness.js';
import { storedRuns } from '../../../studies/table6-fig9.js';
import type { LoadedRun } from '../../core/records.js';
import { type RunRequest, StudyError } from '../../../studies/types.js';
import { Output } from '../output.js';
import { Progress } from '../progress.js';
import { runStudy, studyContext, studySummary, withStudyFlags, type StudyFlags } from './study.js';

interface ReproduceArgs extends StudyFlags {
  out: string;
  plan: boolean;
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
      .option('title', { type: 'string', describe: 'title of index.html' })
      .option('plan', {
        type: 'boolean',
        default: false,
        describe:
          'run nothing: list every run, which are stored, and estimate the missing ones from runs stored on this ' +
          'cluster (plan.md)',
      }) as unknown as Argv<ReproduceArgs>,
  handler: async (args) => {
    const output = Output.fromFlags(args);
    const ctx = studyContext(args);
    const studies = args.studies ? args.studies.split(',').map((s) => getStudy(s.trim())) : [...STUDIES];
    const out = resolve(args.out);
    const runsDir = resolve(args['runs-dir'] ?? defaultRunsDir());
    const cache = new StoredRunCache();
    if (args.plan) {
      const plan = await planStudies(studies, ctx, runsDir, cache);
      const markdown = planMarkdown(plan, ctx);
      await mkdir(out, { recursive: true });
      await writeFile(join(out, 'plan.md'), markdown);
      await writeFile(join(out, 'plan.json'), `${JSON.stringify(plan, null, 2)}\n`);
      output.result(markdown.trimEnd());
      output.final(`plan written to ${join(relative(process.cwd(), out) || '.', 'plan.md')}; nothing was run`);
      output.json({ type: 'result', command: 'reproduce', plan });
      return;
    }
    const checks: EstimateCheck[] = [];
    const sections: StudySection[] = [];
    const lines: string[] = [];
    const runsByStudy = new Map<string, LoadedRun[]>();
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
          // Each run is estimated just before it starts, from what is stored by then (earlier runs of the study
          // included).
          const estimates = new Map<string, Estimate>();
          const estimateBefore = async (request: RunRequest, key: string): Promise<void> => {
            estimates.set(key, estimateRun(request, await cache.complete(runsDir)));
          };
          const { result, written } = await runStudy(study, ctx, args, dir, job, output, estimateBefore);
          for (const a of result.answered) {
            if (!a.run) continue;
            // Kept with the run (estimate.json), so every later report sets it beside what the run measured.
            const made = estimates.get(a.key);
            if (a.origin === 'ran' && made) await writeRunEstimate(a.run.dir, made);
            const estimate = a.origin === 'ran' ? made : await readRunEstimate(a.run.dir);
            if (!estimate || estimate.executionSeconds === null) continue;
            const measured = a.run.summary.executionSeconds;
            if (checks.some((c) => c.runId === a.run?.info.runId)) continue;
            checks.push({
              study: study.id,
              runId: a.run.info.runId,
              request: describeRequest(a.request),
              method: estimate.method,
              estimatedSeconds: estimate.executionSeconds,
              measuredSeconds: measured,
              error: measured > 0 ? estimate.executionSeconds / measured - 1 : 0,
            });
          }
          const count = (o: string): number => result.answered.filter((a) => a.origin === o).length;
          runsByStudy.set(study.id, storedRuns(result.answered));
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
    const claims = evaluateClaims({ ctx, runs: runsByStudy });
    const head = headline(runsByStudy.get('table6-fig9') ?? [], ctx.repeats);
    const caption =
      `${ctx.scale} scale, ${ctx.repeats} repeat${ctx.repeats === 1 ? '' : 's'} per grid cell, ` +
      `generated ${new Date().toISOString()}`;
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'claims.md'), claimsMarkdown(claims, caption));
    await writeFile(join(out, 'claims.json'), `${JSON.stringify(claims, null, 2)}\n`);
    await writeFile(join(out, 'headline.md'), headlineMarkdown(head));
    await writeFile(join(out, 'headline.json'), `${JSON.stringify(head, null, 2)}\n`);
    const estimatesMarkdown = estimateChecksMarkdown(checks);
    await writeFile(join(out, 'estimates.md'), estimatesMarkdown);
    const index = join(out, 'index.html');
    await writeFile(
      index,
      renderReproduceHtml({
        title: args.title ?? `bench reproduce (${ctx.scale} scale)`,
        generatedAt: new Date().toISOString(),
        scale: ctx.scale,
        repeats: ctx.repeats,
        studies: sections,
        headline: head,
        claims,
        estimates: estimatesMarkdown,
      }),
    );
    for (const line of lines) output.result(line);
    const tally = (v: string): number => claims.filter((c) => c.verdict === v).length;
    output.result(
      `claims: ${tally('holds')} hold, ${tally('does not hold')} do not hold, ${tally('not measurable')} not ` +
        `measurable here (claims.md)`,
    );
    const bad = sections.filter((s) => s.refused || s.runs.failed > 0);
    output.final(
      `${sections.length} studies (${bad.length} refused or partial) in ${relative(process.cwd(), out) || '.'}; ` +
        `open ${index}`,
    );
    output.json({
      type: 'result',
      command: 'reproduce',
      index,
      claims: claims.map((c) => ({ id: c.id, verdict: c.verdict, why: c.why })),
      studies: sections.map(({ figures, tables, ...s }) => ({
        ...s,
        figures: figures.map((f) => f.name),
        tables: tables.map((t) => t.name),
      })),
    });
    if (bad.length > 0) process.exitCode = 1;
  },
};
