// No line of a tracked TypeScript file is over 120 characters, biome.json's lineWidth. Biome lays the
// code out within it but leaves string and template literals, comments and regexes as they are: split
// those (concatenate the pieces, hoist a sub-expression into a const, rewrap the comment).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/core/paths.js';

const MAX_LINE = 120;

/** The .ts files git tracks, relative to the repository root. */
function trackedTypeScript(root: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)));
}

/** `file:line: n characters` for every line over the limit (characters as code points). */
function longLines(root: string, file: string): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split(/\r?\n/)
    .flatMap((line, i) => {
      const length = [...line].length;
      return length > MAX_LINE ? [`${file}:${i + 1}: ${length} characters`] : [];
    });
}

describe('line width', () => {
  const root = repoRoot();
  const files = trackedTypeScript(root);

  it('finds the tracked TypeScript files', () => {
    expect(files).toContain('test/architecture/line-width.test.ts');
  });

  it(`no line of a tracked .ts file is over ${MAX_LINE} characters`, () => {
    expect(files.flatMap((file) => longLines(root, file))).toEqual([]);
  });
});
