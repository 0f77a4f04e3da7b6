// The outputs of `bench compare` (docs/ci.md, "Outputs"): a terminal table, a JSON document, a
// Markdown pull-request comment (a verdict line, then the table) and JUnit XML, all from the same
// Comparison. Each shows every metric with both sides' n, mean and spread, the factor, the
// p-value and the verdict.
import { XMLBuilder } from 'fast-xml-parser';
import {
  describeEnvDifference,
  exitCodeOf,
  type Comparison,
  type ComparisonRow,
  type EnvDifference,
  type SideStats,
} from '../metrics/compare.js';
import { formatTable } from './format.js';

export const OUTPUT_FORMATS = ['table', 'json', 'markdown', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type Verdict = 'ok' | 'regression' | 'not comparable';

export function verdictOf(result: Comparison): Verdict {
  return result.kind === 'mismatch' ? 'not comparable' : result.regression ? 'regression' : 'ok';
}

function formatValue(value: number, unit: 's' | 'x'): string {
  if (unit === 'x') return value.toFixed(2);
  return `${value.toFixed(Math.abs(value) < 10 ? 3 : 1)} s`;
}

export function formatSide(side: SideStats, unit: 's' | 'x'): string {
  const spread = side.n >= 2 ? ` ± ${formatValue(side.sd, unit)}` : '';
  return `${formatValue(side.mean, unit)}${spread} (n=${side.n})`;
}

export function formatFactor(factor: number): string {
  return Number.isFinite(factor) ? `${factor.toFixed(3)}x` : 'inf';
}

export function formatP(p: number | null): string {
  if (p === null) return '-';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function rowName(r: ComparisonRow): string {
  return `${r.group}: ${r.label}`;
}

function rule(result: Comparison): string {
  const o = result.options;
  return (
    `a metric regresses when candidate/baseline > ${o.maxSlowdown}` +
    ` and, with >= ${o.minRunsForTest} runs on each side, Welch's one-sided t-test gives p < ${o.alpha}` +
    ` (judged on ${o.metric === 'seconds' ? 'seconds' : 'ratios to the raw loop measured in each run'})`
  );
}

/** One line: the verdict and what decided it. */
export function verdictLine(result: Comparison): string {
  if (result.kind === 'mismatch') return `not comparable (${result.problems.length} problem(s)): ${result.problems[0]}`;
  const regressions = result.rows.filter((r) => r.verdict === 'regression');
  const faster = result.rows.filter((r) => r.verdict === 'faster');
  const describe = (rows: ComparisonRow[]) =>
    rows.map((r) => `${rowName(r)} ${formatFactor(r.factor)}${r.p === null ? '' : ` (p ${formatP(r.p)})`}`).join('; ');
  const fasterText = faster.length > 0 ? `; faster: ${describe(faster)}` : '';
  if (regressions.length > 0) {
    const count = `${regressions.length} of ${result.rows.length} metric(s)`;
    return `REGRESSION in ${count}: ${describe(regressions)}${fasterText}`;
  }
  const within = `at most ${result.options.maxSlowdown}x slower, or within noise`;
  return `no regression in ${result.rows.length} metric(s) (${within})${fasterText}`;
}

function environmentLines(differences: readonly EnvDifference[]): string[] {
  const said = { refused: 'refused', allowed: 'allowed by --allow-env-diff', reported: 'reported' };
  return differences.map((d) => `environment (${said[d.effect]}): ${describeEnvDifference(d)}`);
}

/** The terminal table, the rule, notes, environment differences and the verdict. */
export function formatComparisonTable(result: Comparison): string {
  const lines: string[] = [];
  if (result.kind === 'mismatch') {
    lines.push('not comparable:', ...result.problems.map((p) => `  - ${p}`));
  } else {
    const rows = result.rows.map((r) => [
      r.group,
      r.label,
      formatSide(r.baseline, r.unit),
      formatSide(r.candidate, r.unit),
      formatFactor(r.factor),
      r.p === null ? 'factor only' : `welch p=${formatP(r.p)}`,
      r.verdict === 'regression' ? 'REGRESSION' : r.verdict,
    ]);
    lines.push(formatTable(['runs', 'metric', 'baseline', 'candidate', 'factor', 'test', 'verdict'], rows), '');
    lines.push(`rule: ${rule(result)}`);
  }
  for (const line of environmentLines(result.environment.filter((d) => d.effect !== 'refused'))) lines.push(line);
  for (const note of result.notes) lines.push(`note: ${note}`);
  lines.push(`verdict: ${verdictLine(result)}`);
  return lines.join('\n');
}

function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The JSON document (factor null when the baseline mean is 0 and the candidate's is not). */
export function comparisonJson(result: Comparison): object {
  return {
    tool: 'bench compare',
    formatVersion: 1,
    verdict: verdictOf(result),
    exitCode: exitCodeOf(result),
    summary: verdictLine(result),
    metric: result.options.metric,
    rule: {
      maxSlowdown: result.options.maxSlowdown,
      alpha: result.options.alpha,
      minRunsForTest: result.options.minRunsForTest,
    },
    allowEnvDiff: result.options.allowEnvDiff,
    runs: result.runs,
    problems: result.kind === 'mismatch' ? result.problems : [],
    environment: result.environment,
    notes: result.notes,
    rows:
      result.kind === 'compared'
        ? result.rows.map((r) => ({
            group: r.group,
            approach: r.approach,
            metric: r.metric,
            label: r.label,
            unit: r.unit === 's' ? 'seconds' : 'ratio to the raw loop',
            baseline: r.baseline,
            candidate: r.candidate,
            factor: jsonNumber(r.factor),
            test: r.test,
            p: r.p,
            verdict: r.verdict,
          }))
        : [],
  };
}

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A pull-request comment: a heading with the verdict, one verdict line, the table, then details. */
export function comparisonMarkdown(result: Comparison, title = 'bench compare'): string {
  const verdict = verdictOf(result);
  const heading = { ok: 'no regression', regression: 'REGRESSION', 'not comparable': 'not comparable' }[verdict];
  const lines = [`### ${title}: ${heading}`, ''];
  if (result.kind === 'mismatch') {
    lines.push(
      `**Not comparable** (exit 2): ${result.runs.baseline} baseline and ${result.runs.candidate} candidate run(s).`,
      '',
    );
    for (const p of result.problems) lines.push(`- ${markdownCell(p)}`);
  } else {
    lines.push(
      `**${verdict === 'regression' ? 'Regression' : 'No regression'}**: ${markdownCell(verdictLine(result))}.`,
      '',
    );
    lines.push(
      '| runs | metric | baseline | candidate | factor | p | verdict |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const r of result.rows) {
      const cells = [
        r.group,
        r.label,
        formatSide(r.baseline, r.unit),
        formatSide(r.candidate, r.unit),
        formatFactor(r.factor),
        formatP(r.p),
        r.verdict === 'regression' ? '**regression**' : r.verdict,
      ];
      lines.push(`| ${cells.map(markdownCell).join(' | ')} |`);
    }
    lines.push(
      '',
      `Rule: ${rule(result)}. Baseline ${result.runs.baseline} run(s), candidate ${result.runs.candidate} run(s).`,
    );
  }
  const details = [...environmentLines(result.environment), ...result.notes.map((n) => `note: ${n}`)];
  if (details.length > 0) {
    lines.push('', '<details><summary>environment and notes</summary>', '');
    for (const d of details) lines.push(`- ${markdownCell(d)}`);
    lines.push('', '</details>');
  }
  return lines.join('\n') + '\n';
}

/** JUnit XML: one test suite per kind of run, one test case per metric; a regression is a failure. */
export function comparisonJunit(result: Comparison): string {
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: true,
    suppressEmptyNode: true,
  });
  const notes = [...environmentLines(result.environment), ...result.notes.map((n) => `note: ${n}`)];
  const properties =
    notes.length > 0
      ? { properties: { property: notes.map((n, i) => ({ '@_name': `note ${i + 1}`, '@_value': n })) } }
      : {};
  const suites: object[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  if (result.kind === 'mismatch') {
    tests = 1;
    errors = 1;
    suites.push({
      '@_name': 'comparability',
      '@_tests': 1,
      '@_failures': 0,
      '@_errors': 1,
      ...properties,
      testcase: [
        {
          '@_classname': 'bench.compare',
          '@_name': 'the runs are comparable',
          error: { '@_type': 'not comparable', '@_message': verdictLine(result), '#text': result.problems.join('\n') },
        },
      ],
    });
  } else {
    const groups = [...new Set(result.rows.map((r) => r.group))];
    for (const group of groups) {
      const rows = result.rows.filter((r) => r.group === group);
      const failed = rows.filter((r) => r.verdict === 'regression').length;
      tests += rows.length;
      failures += failed;
      suites.push({
        '@_name': group,
        '@_tests': rows.length,
        '@_failures': failed,
        '@_errors': 0,
        ...properties,
        testcase: rows.map((r) => {
          const detail =
            `baseline ${formatSide(r.baseline, r.unit)}, candidate ${formatSide(r.candidate, r.unit)}, ` +
            `factor ${formatFactor(r.factor)}, ${r.p === null ? 'factor only' : `Welch p ${formatP(r.p)}`}, ` +
            r.verdict;
          return {
            '@_classname': `bench.compare.${r.approach}`,
            '@_name': `${group}: ${r.label}`,
            ...(r.unit === 's' ? { '@_time': r.candidate.mean.toFixed(3) } : {}),
            ...(r.verdict === 'regression'
              ? {
                  failure: {
                    '@_type': 'regression',
                    '@_message': `${formatFactor(r.factor)} slower than the baseline`,
                    '#text': detail,
                  },
                }
              : {}),
            'system-out': detail,
          };
        }),
      });
    }
  }
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': 'bench compare',
      '@_tests': tests,
      '@_failures': failures,
      '@_errors': errors,
      testsuite: suites,
    },
  }) as string;
}

export function renderComparison(result: Comparison, format: OutputFormat): string {
  switch (format) {
    case 'table':
      return formatComparisonTable(result) + '\n';
    case 'json':
      return JSON.stringify(comparisonJson(result), null, 2) + '\n';
    case 'markdown':
      return comparisonMarkdown(result);
    case 'junit':
      return comparisonJunit(result);
  }
}
