// The layers point one way (docs/architecture.md, "Layers"): src/core imports nothing else of the
// project, and no two folders import each other, directly or around a longer loop. The graph comes
// from TypeScript's own import scanner (ts.preProcessFile) over every source file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/core/paths.js';

/** The folders whose dependencies are checked; a file belongs to the longest that contains it. */
const FOLDERS = [
  'src/core',
  'src/sched',
  'src/db',
  'src/metrics',
  'src/store',
  'src/access',
  'src/engine',
  'src/run',
  'src/cli',
  'workloads',
  'approaches',
  'reports',
  'studies',
  'bench',
] as const;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
}

function folderOf(root: string, file: string): string | undefined {
  const rel = relative(root, file);
  return [...FOLDERS].filter((f) => rel === f || rel.startsWith(`${f}/`)).sort((a, b) => b.length - a.length)[0];
}

/** folder -> folder -> the files that make the edge. */
function folderGraph(root: string): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const folder of FOLDERS) {
    let dir: string;
    try {
      dir = join(root, folder);
      statSync(dir);
    } catch {
      continue;
    }
    for (const file of sourceFiles(dir)) {
      const from = folderOf(root, file);
      if (!from) continue;
      for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        if (!imported.fileName.startsWith('.')) continue;
        const to = folderOf(root, resolve(dirname(file), imported.fileName));
        if (!to || to === from) continue;
        const edges = graph.get(from) ?? new Map<string, string[]>();
        edges.set(to, [...(edges.get(to) ?? []), relative(root, file)]);
        graph.set(from, edges);
      }
    }
  }
  return graph;
}

/** Every cycle among the folders, each as a path that returns to its start. */
function folderCycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const visit = (node: string, path: string[]): void => {
    for (const next of graph.get(node)?.keys() ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const cycle = [...path.slice(at), next];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else visit(next, [...path, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return cycles;
}

describe('layers', () => {
  const graph = folderGraph(repoRoot());

  it('src/core imports nothing else of the project', () => {
    expect([...(graph.get('src/core')?.entries() ?? [])].map(([to, files]) => `${to} (${files.join(', ')})`)).toEqual(
      [],
    );
  });

  it('no folders import each other, directly or around a loop', () => {
    const described = folderCycles(graph).map((cycle) =>
      cycle
        .slice(0, -1)
        .map((from, i) => `${from} -> ${cycle[i + 1]} (${graph.get(from)?.get(cycle[i + 1])?.[0]})`)
        .join(', '),
    );
    expect(described).toEqual([]);
  });
});
