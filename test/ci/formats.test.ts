// The outputs of `bench compare`, each parsed back: JSON, JUnit XML (with a real XML parser),
// Markdown (the verdict line, then a table whose cells are read back) and the terminal table.
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  comparisonJson,
  comparisonJunit,
  comparisonMarkdown,
  formatComparisonTable,
  renderComparison,
} from '../../src/cli/compare-formats.js';
import { comparableRun, compareRuns, type ComparableRun, type Comparison } from '../../src/metrics/compare.js';
import { loadedRun, syntheticRun } from '../metrics/fixtures.js';

function side(prefix: string, n: number, slow: number, approach = 'ctq', cpuModel = 'Test CPU'): ComparableRun[] {
  return Array.from({ length: n }, (_, i) =>
    comparableRun(
      loadedRun(
        syntheticRun({
          runId: `${prefix}-${approach}-${i}`,
          approach,
          slow: slow * (1 + 0.01 * ((i % 3) - 1)),
          environment: { cpuModel },
        }),
      ),
    ),
  );
}

// ctq 1.5x slower (a regression), udaf unchanged: 6 rows, 3 of them regressions.
const regression = compareRuns(
  [...side('a', 3, 1), ...side('a', 3, 1, 'udaf')],
  [...side('b', 3, 1.5), ...side('b', 4, 1.01, 'udaf')],
);
const clean = compareRuns(side('a', 3, 1), side('b', 3, 1.01));
const refused = compareRuns(side('a', 2, 1), side('b', 2, 1, 'ctq', 'Other CPU'));

function rowsOf(result: Comparison) {
  if (result.kind !== 'compared') throw new Error('expected a comparison');
  return result.rows;
}

interface JsonDocument {
  verdict: string;
  exitCode: number;
  metric: string;
  problems: string[];
  rows: {
    group: string;
    metric: string;
    baseline: { n: number; mean: number; sd: number };
    candidate: { n: number; mean: number; sd: number };
    factor: number;
    p: number;
    verdict: string;
  }[];
}

describe('JSON', () => {
  it('holds every metric with both sides n, mean, spread, the factor, p and the verdict', () => {
    const doc = JSON.parse(renderComparison(regression, 'json')) as JsonDocument;
    expect(doc.verdict).toBe('regression');
    expect(doc.exitCode).toBe(1);
    expect(doc.metric).toBe('seconds');
    expect(doc.rows).toHaveLength(6);
    for (const [row, original] of doc.rows.map((r, i) => [r, rowsOf(regression)[i]] as const)) {
      expect(row.baseline.n).toBe(original.baseline.n);
      expect(row.candidate.mean).toBeCloseTo(original.candidate.mean, 12);
      expect(row.baseline.sd).toBeCloseTo(original.baseline.sd, 12);
      expect(row.factor).toBeCloseTo(original.factor, 12);
      expect(row.p).toBeCloseTo(original.p!, 12);
      expect(row.verdict).toBe(original.verdict);
    }
    expect(doc.rows.filter((r) => r.verdict === 'regression').map((r) => r.group)).toEqual(
      Array(3).fill('ctq criteo/tiny, 2 segments'),
    );
    expect(doc.rows.find((r) => r.group.startsWith('udaf'))!.candidate.n).toBe(4);
  });

  it('says why when the runs are not comparable', () => {
    const doc = comparisonJson(refused) as JsonDocument;
    expect(doc.verdict).toBe('not comparable');
    expect(doc.exitCode).toBe(2);
    expect(doc.rows).toEqual([]);
    expect(doc.problems.join('\n')).toMatch(/cpuModel/);
  });
});

describe('JUnit XML', () => {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  });

  it('is one test suite per kind of run and one failing test case per regressed metric', () => {
    const xml = parser.parse(comparisonJunit(regression));
    const suites = xml.testsuites.testsuite as {
      name: string;
      tests: string;
      failures: string;
      testcase: { name: string; time?: string; failure?: { type: string; message: string; '#text': string } }[];
    }[];
    expect(xml.testsuites.tests).toBe('6');
    expect(xml.testsuites.failures).toBe('3');
    expect(suites.map((s) => s.name)).toEqual(['ctq criteo/tiny, 2 segments', 'udaf criteo/tiny, 2 segments']);
    const ctq = suites[0];
    expect(ctq.failures).toBe('3');
    expect(ctq.testcase.map((t) => t.name)).toEqual([
      'ctq criteo/tiny, 2 segments: execution time',
      'ctq criteo/tiny, 2 segments: epoch time (mean)',
      'ctq criteo/tiny, 2 segments: ETL time',
    ]);
    const exec = ctq.testcase[0];
    expect(exec.failure!.type).toBe('regression');
    expect(exec.failure!.message).toMatch(/^1\.5\d\dx slower than the baseline$/);
    expect(exec.failure!['#text']).toMatch(
      new RegExp(
        String.raw`baseline 4\.\d{3} s ± 0\.\d{3} s \(n=3\), candidate 6\.\d{3} s ± 0\.\d{3} s \(n=3\), ` +
          String.raw`factor 1\.5\d\dx, Welch p <?0\.\d{3}, regression`,
      ),
    );
    expect(Number(exec.time)).toBeCloseTo(rowsOf(regression)[0].candidate.mean, 3);
    expect(suites[1].testcase.every((t) => t.failure === undefined)).toBe(true);
  });

  it('is an error when the runs are not comparable', () => {
    const xml = parser.parse(comparisonJunit(refused));
    expect(xml.testsuites.errors).toBe('1');
    const testcase = xml.testsuites.testsuite[0].testcase[0];
    expect(testcase.error.type).toBe('not comparable');
    expect(testcase.error['#text']).toMatch(/environment differs: cpuModel/);
  });
});

/** The Markdown's table as cells, header first. */
function markdownTable(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|') && !l.startsWith('| ---'))
    .map((l) =>
      l
        .slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

describe('Markdown', () => {
  it('is a pull-request comment: a heading, one verdict line, then the table', () => {
    const md = comparisonMarkdown(regression);
    const lines = md.split('\n');
    expect(lines[0]).toBe('### bench compare: REGRESSION');
    expect(lines[2]).toMatch(
      /^\*\*Regression\*\*: REGRESSION in 3 of 6 metric\(s\): ctq criteo\/tiny, 2 segments: execution time 1\.5\d\dx/,
    );
    const table = markdownTable(md);
    expect(table[0]).toEqual(['runs', 'metric', 'baseline', 'candidate', 'factor', 'p', 'verdict']);
    expect(table).toHaveLength(1 + 6);
    const exec = table[1];
    expect(exec[0]).toBe('ctq criteo/tiny, 2 segments');
    expect(exec[1]).toBe('execution time');
    expect(exec[2]).toMatch(/^4\.\d{3} s ± 0\.\d{3} s \(n=3\)$/);
    expect(exec[3]).toMatch(/^6\.\d{3} s ± 0\.\d{3} s \(n=3\)$/);
    expect(Number(exec[4].replace('x', ''))).toBeCloseTo(rowsOf(regression)[0].factor, 3);
    expect(exec[6]).toBe('**regression**');
    expect(table.filter((r) => r[6] === 'ok')).toHaveLength(3);
  });

  it('says no regression on a clean comparison, and lists refusals when not comparable', () => {
    const md = comparisonMarkdown(clean);
    expect(md.split('\n')[0]).toBe('### bench compare: no regression');
    expect(md).toMatch(/\*\*No regression\*\*: no regression in 3 metric\(s\)/);
    expect(markdownTable(md)).toHaveLength(4);
    const no = comparisonMarkdown(refused);
    expect(no.split('\n')[0]).toBe('### bench compare: not comparable');
    expect(no).toMatch(/^- environment differs: cpuModel is "Test CPU"/m);
  });
});

describe('terminal table', () => {
  it('shows every row, the rule and the verdict', () => {
    const text = formatComparisonTable(regression);
    expect(text.split('\n').filter((l) => l.startsWith('ctq ') || l.startsWith('udaf '))).toHaveLength(6);
    expect(text).toMatch(/welch p=/);
    expect(text).toMatch(/^rule: a metric regresses when candidate\/baseline > 1\.1/m);
    expect(text).toMatch(/^verdict: REGRESSION in 3 of 6/m);
  });
});
