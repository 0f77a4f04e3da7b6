// The engine package (infra/engine/bench_engine) as the servers import it, and its version: a hash
// of its files, computed the same way here and inside a server (src/db/probe.ts), so an instance
// that imports another copy of the engine is told apart (docs/attach.md).
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { repoRoot } from '../core/paths.js';

export const ENGINE_PACKAGE = 'bench_engine';

export interface PackageFile {
  /** Relative to the directory that holds the package, with '/' separators: 'bench_engine/trainer.py'. */
  path: string;
  content: Buffer;
}

export interface EnginePackage {
  /** The directory that holds `bench_engine` (what goes on sys.path). */
  root: string;
  files: PackageFile[];
  version: string;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === '__pycache__' ? [] : listFiles(path);
      return entry.isFile() && !entry.name.endsWith('.pyc') ? [path] : [];
    }),
  );
  return nested.flat();
}

/** sha256 over each file's path and bytes, in path order; the first 16 hex digits. */
export function packageVersion(files: PackageFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0`).update(file.content).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** This checkout's engine package. */
export async function enginePackage(): Promise<EnginePackage> {
  const root = join(repoRoot(), 'infra', 'engine');
  const paths = await listFiles(join(root, ENGINE_PACKAGE));
  const files = await Promise.all(
    paths.map(async (path) => ({ path: relative(root, path).split(sep).join('/'), content: await readFile(path) })),
  );
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { root, files, version: packageVersion(files) };
}

/** The same hash in Python, for a PL/Python function: `_bench_engine_version(package_dir)`. */
export const PYTHON_PACKAGE_VERSION = `
def _bench_engine_version(package_dir):
    import hashlib, os
    base = os.path.dirname(package_dir)
    paths = []
    for root, dirs, names in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in names:
            if not name.endswith('.pyc'):
                paths.append(os.path.relpath(os.path.join(root, name), base).replace(os.sep, '/'))
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.encode() + b'\\0')
        with open(os.path.join(base, path), 'rb') as f:
            digest.update(f.read())
        digest.update(b'\\0')
    return digest.hexdigest()[:16]
`;
