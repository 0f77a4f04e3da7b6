// The README's transport table is a copy of TRANSPORT_TABLE (src/core/events.ts): this keeps it true.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BYTE_COLUMNS, TRANSPORT_TABLE } from '../../src/core/events.js';
import { repoRoot } from '../../src/core/paths.js';

function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => /^\| `[a-z-]+` \|/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
    .filter((cells) => cells.length === 3 && (BYTE_COLUMNS as readonly string[]).includes(cells[1]));
}

describe('transport table', () => {
  it.each(['README.md', 'docs/measurement.md'])('%s lists every transport, its column and what it counts', (file) => {
    const rows = tableRows(readFileSync(join(repoRoot(), file), 'utf8'));
    const expected = Object.entries(TRANSPORT_TABLE).map(([name, spec]) => [`\`${name}\``, spec.column, spec.counts]);
    expect(rows).toEqual(expected);
  });
});
