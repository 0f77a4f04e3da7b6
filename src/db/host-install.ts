// bench's files on a server's host (docs/attach.md, "Files on the server's host"): the extension's
// control file and script in PostgreSQL's extension directory, a copy of the engine package beside
// them, and a .pth file in the server's Python site directory that puts that copy on sys.path. They
// are installed by one generated shell script, the same one bench runs itself when it can write
// there and prints for the user to run on a host it cannot reach. The script lists what it created
// in a manifest on that host; detach's script removes exactly those files and puts back a .pth
// file it replaced.
import { createHash } from 'node:crypto';
import { EXTENSION, scriptFileName, type ExtensionBuild } from './extension.js';
import type { EnginePackage } from './engine-package.js';

export interface HostLayout {
  sharedir: string;
  /** The server's Python site directory that gets the .pth file. */
  siteDir: string;
}

export const PTH_FILE = 'bench_engine.pth';

export function benchShareDir(sharedir: string): string {
  return `${sharedir}/bench`;
}

export function manifestPath(sharedir: string): string {
  return `${benchShareDir(sharedir)}/manifest`;
}

export function engineDir(sharedir: string, engineVersion: string): string {
  return `${benchShareDir(sharedir)}/engine-${engineVersion}`;
}

export function hostFiles(
  layout: HostLayout,
  extension: ExtensionBuild,
  engine: EnginePackage,
): { control: string; script: string; engine: string; pth: string } {
  return {
    control: `${layout.sharedir}/extension/${EXTENSION}.control`,
    script: `${layout.sharedir}/extension/${scriptFileName(extension.version)}`,
    engine: engineDir(layout.sharedir, engine.version),
    pth: `${layout.siteDir}/${PTH_FILE}`,
  };
}

/** A shell word: single-quoted. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function heredoc(content: Buffer): { open: string; body: string } {
  const tag = `BENCH_${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
  const lines = content.toString('base64').match(/.{1,76}/g) ?? [];
  return { open: `<<'${tag}'`, body: `${lines.join('\n')}\n${tag}` };
}

/** The install script: creates what is missing (overwrites only the .pth file), listing it in the manifest. */
export function installScript(layout: HostLayout, extension: ExtensionBuild, engine: EnginePackage): string {
  const files = hostFiles(layout, extension, engine);
  const out: string[] = [
    '#!/bin/sh',
    `# bench: install the bench extension ${extension.version} and the engine ${engine.version}`,
    `# for the PostgreSQL server whose share directory is ${layout.sharedir}. Run it on that server's host`,
    '# as a user who can write there (root): sh <this file>. It creates only what is missing and lists it',
    `# in ${manifestPath(layout.sharedir)}; \`bench db detach\` removes exactly that.`,
    'set -eu',
    'umask 022',
    `bench_dir=${shellQuote(benchShareDir(layout.sharedir))}`,
    `manifest=${shellQuote(manifestPath(layout.sharedir))}`,
    'if [ ! -d "$bench_dir" ]; then mkdir -p "$bench_dir"; echo "dir $bench_dir" >> "$manifest"; fi',
    'touch "$manifest"',
    'ensure_dir() { if [ ! -d "$1" ]; then mkdir -p "$1"; echo "dir $1" >> "$manifest"; fi; }',
    // put PATH: write stdin (base64) to PATH unless it exists.
    'put() {',
    '  if [ -e "$1" ]; then cat > /dev/null; return; fi',
    '  base64 -d > "$1.bench-new" && chmod 0644 "$1.bench-new" && mv "$1.bench-new" "$1"',
    '  echo "file $1" >> "$manifest"',
    '}',
    // put_replacing PATH: write stdin to PATH; a file bench did not create is saved and put back on detach.
    'put_replacing() {',
    '  base64 -d > "$1.bench-new"; chmod 0644 "$1.bench-new"',
    '  if [ -e "$1" ] && ! grep -qxF "file $1" "$manifest" && ! grep -qxF "replaced $1" "$manifest"; then',
    '    if cmp -s "$1" "$1.bench-new"; then rm -f "$1.bench-new"; return; fi',
    '    cp -p "$1" "$1.bench-saved"; echo "replaced $1" >> "$manifest"',
    '  elif [ ! -e "$1" ]; then echo "file $1" >> "$manifest"; fi',
    '  mv "$1.bench-new" "$1"',
    '}',
  ];
  const put = (path: string, content: Buffer, fn = 'put'): void => {
    const doc = heredoc(content);
    out.push(`${fn} ${shellQuote(path)} ${doc.open}`, doc.body);
  };
  put(files.control, Buffer.from(extension.control));
  put(files.script, Buffer.from(extension.script));
  const dirs = new Set<string>();
  for (const file of engine.files) {
    const parts = file.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`${files.engine}/${parts.slice(0, i).join('/')}`);
  }
  out.push(`ensure_dir ${shellQuote(files.engine)}`);
  for (const dir of [...dirs].sort()) out.push(`ensure_dir ${shellQuote(dir)}`);
  for (const file of engine.files) put(`${files.engine}/${file.path}`, file.content);
  put(files.pth, Buffer.from(`${files.engine}\n`), 'put_replacing');
  out.push(
    `echo "bench: installed the bench extension ${extension.version} and engine ${engine.version} under $bench_dir"`,
    '',
  );
  return out.join('\n');
}

/**
 * The uninstall script for a host: removes what the manifest lists (newest first), puts back files it
 * replaced, then the manifest. Generic: it reads the manifest on that host.
 */
export function uninstallScript(sharedir: string): string {
  return [
    '#!/bin/sh',
    `# bench: remove the files \`bench db attach\` installed for the PostgreSQL server whose share directory is ` +
      `${sharedir},`,
    `# as listed in ${manifestPath(sharedir)}. Run it on that server's host as root: sh <this file>`,
    'set -eu',
    `manifest=${shellQuote(manifestPath(sharedir))}`,
    '[ -f "$manifest" ] || { echo "bench: no manifest at $manifest: nothing to remove"; exit 0; }',
    'entries=$(tac "$manifest")',
    'rm -f "$manifest"',
    'printf "%s\\n" "$entries" | while read -r kind path; do',
    '  case "$kind" in',
    '    file) rm -f "$path" ;;',
    '    replaced) if [ -e "$path.bench-saved" ]; then mv "$path.bench-saved" "$path"; fi ;;',
    '    dir) rmdir "$path" 2>/dev/null || echo "bench: left $path (not empty)" ;;',
    '  esac',
    'done',
    `echo "bench: removed the files bench installed under ${benchShareDir(sharedir)}"`,
    '',
  ].join('\n');
}
