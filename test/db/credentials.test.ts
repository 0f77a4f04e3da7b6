// Passwords the PostgreSQL way and the one masking function (pure logic; no server).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { redact, registerSecret } from '../../src/core/secrets.js';
import {
  parsePassfile,
  parsePassfileLine,
  passfileLine,
  passfileLookup,
  readPassfile,
  resolvePassword,
} from '../../src/db/credentials.js';
import { instanceUrl } from '../../src/db/topology.js';
import { instanceFromUrl } from '../../src/db/urls.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('password files (libpq format)', () => {
  it('splits on unescaped colons, reads \\: and \\\\ as escapes, skips comments and blank lines', () => {
    expect(parsePassfileLine('db1:5432:bench:alice:s3cr:t\\:x\\\\y')).toEqual({
      host: 'db1',
      port: '5432',
      database: 'bench',
      user: 'alice',
      password: 's3cr:t:x\\y',
    });
    expect(parsePassfileLine('*:*:*:u:p')).toEqual({ host: '*', port: '*', database: '*', user: 'u', password: 'p' });
    expect(parsePassfileLine('# db1:5432:bench:alice:pw')).toBeUndefined();
    expect(parsePassfileLine('   ')).toBeUndefined();
    expect(parsePassfileLine('db1:5432:bench')).toBeUndefined();
    const entry = { host: 'h', port: '*', database: 'd:b', user: 'u\\', password: 'p:w' };
    expect(parsePassfileLine(passfileLine(entry))).toEqual(entry);
  });

  it('takes the first matching line; * matches anything; localhost matches a socket directory', () => {
    const entries = parsePassfile(
      ['db1:5432:other:alice:no', 'db1:*:*:alice:first', '*:*:*:*:fallback', 'localhost:5432:*:bob:local'].join('\n'),
    );
    expect(passfileLookup(entries, { host: 'db1', port: 5433, database: 'bench', user: 'alice' })).toBe('first');
    expect(passfileLookup(entries, { host: 'db2', port: 5432, database: 'bench', user: 'carol' })).toBe('fallback');
    expect(
      passfileLookup(parsePassfile('localhost:5432:*:bob:local'), {
        host: '/run/pg',
        port: 5432,
        database: 'x',
        user: 'bob',
      }),
    ).toBe('local');
    expect(
      passfileLookup(parsePassfile('db1:5432:bench:alice:pw'), {
        host: 'db1',
        port: 5432,
        database: 'other',
        user: 'alice',
      }),
    ).toBeUndefined();
  });

  it('refuses a password file others can read, saying how to fix it', () => {
    const file = join(dir, 'open');
    writeFileSync(file, '*:*:*:*:pw\n');
    chmodSync(file, 0o644);
    expect(() => readPassfile(file, '--password-file')).toThrow(/group or other access \(mode 644\).*chmod 600/);
    chmodSync(file, 0o600);
    expect(readPassfile(file, '--password-file')).toHaveLength(1);
  });

  it('resolves as libpq does: the URL, then PGPASSWORD, then the password file', () => {
    const file = join(dir, 'pgpass');
    writeFileSync(file, 'db1:5432:bench:alice:from-file\n', { mode: 0o600 });
    const instance = { name: 'seg0', host: 'db1', port: 5432, database: 'bench', user: 'alice' };
    const saved = { PGPASSFILE: process.env.PGPASSFILE, PGPASSWORD: process.env.PGPASSWORD };
    try {
      process.env.PGPASSFILE = file;
      delete process.env.PGPASSWORD;
      expect(resolvePassword(instance)).toBe('from-file');
      process.env.PGPASSWORD = 'from-env';
      expect(resolvePassword(instance)).toBe('from-env');
      expect(resolvePassword({ ...instance, password: 'from-url' })).toBe('from-url');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('redact', () => {
  it('masks the password of any URL, password= pairs and JSON password fields', () => {
    expect(redact('could not connect to seg1 at postgresql://postgres:hunter2@127.0.0.1:5432/bench: refused')).toBe(
      'could not connect to seg1 at postgresql://postgres:***@127.0.0.1:5432/bench: refused',
    );
    expect(redact("host=db1 password='a b' user=x")).toBe('host=db1 password=*** user=x');
    expect(redact('{umoptions: [user=admin, password=pw1]}')).toBe('{umoptions: [user=admin, password=***]}');
    expect(redact('{"user":"a","password":"p\\"w"}')).toBe('{"user":"a","password":"***"}');
    expect(redact('postgresql://admin@db1/bench')).toBe('postgresql://admin@db1/bench');
  });

  it('masks a registered secret wherever it appears, also URL-encoded', () => {
    registerSecret('s3cret/with spaces');
    expect(redact('the value s3cret/with spaces, or s3cret%2Fwith%20spaces')).toBe('the value ***, or ***');
  });

  it('URLs bench prints carry no password; a URL given with one registers it', () => {
    const instance = instanceFromUrl('postgresql://admin:Pa%3Ass@db1:6432/bench?sslmode=require', 'coordinator');
    expect(instance).toMatchObject({
      host: 'db1',
      port: 6432,
      user: 'admin',
      password: 'Pa:ss',
      database: 'bench',
      params: { sslmode: 'require' },
    });
    expect(instanceUrl(instance)).toBe('postgresql://admin@db1:6432/bench?sslmode=require');
    expect(redact('the secret is Pa:ss')).toBe('the secret is ***');
    expect(() => instanceFromUrl('postgresql://a:pw12345@db1/bench?application_name=x', 'seg0')).toThrow(
      /does not know the URL parameter "application_name"/,
    );
  });
});
