// The direct reader needs no root: a non-root user in the server's group reads the files of a
// cluster made with initdb --allow-group-access; a user outside the group is told why it cannot.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpSql, scratch, sql, type ScratchInstance } from './helpers.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const READER = 'benchreader';
const repo = join(import.meta.dirname, '..', '..');

async function exists(user: string): Promise<boolean> {
  try {
    await run('id', ['-u', user]);
    return true;
  } catch {
    return false;
  }
}

/** Run the direct read of `table` as `user` in a child process (root switches user with runuser). */
async function readAs(user: string, db: ScratchInstance, table: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      'runuser',
      [
        '-u',
        user,
        '--',
        process.execPath,
        '--import',
        'tsx',
        join(repo, 'test/access/fixtures/read-as.ts'),
        JSON.stringify(db.instance),
        table,
      ],
      { cwd: repo, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: '/tmp' }, maxBuffer: 64 << 20 },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe.skipIf(!isRoot)('file permissions (needs root to create and switch users)', () => {
  let db: ScratchInstance;

  beforeAll(async () => {
    if (!(await exists(READER)))
      await run('useradd', [
        '--system',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        '--groups',
        'postgres',
        READER,
      ]);
    else await run('usermod', ['--append', '--groups', 'postgres', READER]);
    db = await scratch();
    await sql(
      db.instance,
      "CREATE TABLE perm (a int, b text, c bytea); INSERT INTO perm SELECT g, repeat('p', g * 10), " +
        "decode(repeat('ab', g * 20), 'hex') FROM generate_series(1, 400) g",
    );
  });

  afterAll(async () => {
    await db?.stop();
  });

  it('a member of the postgres group reads the files, and gets what SELECT gets', async () => {
    const { stdout: groups } = await run('id', ['-nG', READER]);
    expect(groups.split(/\s+/)).toContain('postgres');
    const r = await readAs(READER, db, 'perm');
    expect(r.out).not.toContain('ERROR');
    const [uidLine, ...lines] = r.out.trimEnd().split('\n');
    expect(uidLine).not.toBe('uid 0');
    const expected = await dumpSql(db.instance, 'perm');
    expect(lines.join('\n')).toBe(expected.lines.join('\n'));
  });

  it('a user outside the group gets a clear permission error', async () => {
    const r = await readAs('nobody', db, 'perm');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/permission denied.*group-readable|EACCES/s);
  });
});
