// Servers bench did not start (docs/attach.md): two PostgreSQL 15 instances run by another OS user
// on 127.0.0.2 and 127.0.0.3 with scram-sha-256 passwords (the second accepts SSL connections only
// and, where the machine allows it, runs in a private mount namespace: a host whose files bench
// cannot see). bench attaches them as coordinator + 2 segments, runs udaf, ctq, export and ma on
// criteo/tiny through --db, checks, and detaches; every password stays out of what it prints and writes.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../../src/db/postgres-os.js';
import { manifestPath, uninstallScript } from '../../src/db/host-install.js';
import { bench, type CliResult } from './cli.js';
import {
  SUPERUSER,
  ensureOsUser,
  namespacesWork,
  pythonSiteDir,
  startForeignServer,
  writePassfile,
  type ForeignServer,
} from './foreign-servers.js';

const SHAREDIR = '/usr/share/postgresql/15';
const SITE_PTH = join(pythonSiteDir(), 'bench_engine.pth');
const root = isRoot();
/** Several real runs and server restarts: minutes on a busy 2-core machine. */
const SLOW = 900_000;
const isolated = root && namespacesWork();

interface RunShape {
  status: string;
  units: number;
  /** configs x segments x epochs, from run.json. */
  expectedUnits: number;
  segments: number;
  metrics: Map<string, number>;
  /** Every config/epoch pair, from run.json. */
  expectedMetrics: string[];
}

function readRun(dir: string): RunShape {
  const info = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as {
    configs: unknown[];
    segments: number;
    epochs: number;
  };
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
    status: string;
    metrics: { config: number; epoch: number; validLoss: number }[];
  };
  const units = readFileSync(join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line && (JSON.parse(line) as { type: string }).type === 'unit').length;
  return {
    status: summary.status,
    units,
    expectedUnits: info.configs.length * info.segments * info.epochs,
    segments: info.segments,
    metrics: new Map(summary.metrics.map((m) => [`${m.config}/${m.epoch}`, m.validLoss])),
    expectedMetrics: info.configs.flatMap((_, c) => Array.from({ length: info.epochs }, (__, e) => `${c}/${e}`)).sort(),
  };
}

function runFolderOf(result: CliResult): string {
  // The final line: "<approach> <workload>/<scale> complete: <run folder>".
  const match = /^\S+ \S+ (?:complete|incomplete): (\S+)$/m.exec(result.stdout);
  if (!match) throw new Error(`no run folder in the output:\n${result.stdout}\n${result.stderr}`);
  return match[1];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

async function query<T extends pg.QueryResultRow>(
  server: ForeignServer,
  database: string,
  sql: string,
  ssl = false,
): Promise<T[]> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: SUPERUSER,
    password: server.password,
    database,
    ssl: ssl ? { rejectUnauthorized: false } : false,
  });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!root)('servers bench did not start: attach, run through --db, check, detach', () => {
  let base: string;
  let a: ForeignServer;
  let b: ForeignServer;
  let passfile: string;
  let coordinatorUrl: string;
  let segmentUrls: string[];
  const printed: CliResult[] = [];
  const hostBefore = { benchDir: existsSync(`${SHAREDIR}/bench`), pth: existsSync(SITE_PTH) };
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
    const result = await bench(args, env);
    printed.push(result);
    return result;
  };

  beforeAll(async () => {
    ensureOsUser();
    base = mkdtempSync('/tmp/bench-attach-');
    await chmod(base, 0o755);
    [a, b] = await Promise.all([
      startForeignServer({ base, name: 'a', host: '127.0.0.2' }),
      startForeignServer({ base, name: 'b', host: '127.0.0.3', ssl: true, isolated }),
    ]);
    passfile = join(base, 'pgpass');
    await writePassfile(passfile, [a, b]);
    coordinatorUrl = `postgresql://${SUPERUSER}@127.0.0.2:${a.port}/bench`;
    segmentUrls = [
      `postgresql://${SUPERUSER}@127.0.0.2:${a.port}/bench_seg0`,
      `postgresql://${SUPERUSER}@127.0.0.3:${b.port}/bench?sslmode=require`,
    ];
    // What the user had before: the coordinator's database with a table, PL/Python and two settings.
    await query(a, 'postgres', 'CREATE DATABASE bench');
    await query(
      a,
      'bench',
      'CREATE TABLE user_keep (x int); INSERT INTO user_keep VALUES (42); CREATE EXTENSION plpython3u',
    );
    await query(
      a,
      'bench',
      `ALTER ROLE ${SUPERUSER} IN DATABASE bench SET jit = on; ALTER ROLE ${SUPERUSER} IN DATABASE bench SET ` +
        `work_mem = '7MB'`,
    );
  });

  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
    // A failed test may leave bench's files on this machine: remove what the manifest lists.
    if (!hostBefore.benchDir && existsSync(manifestPath(SHAREDIR))) {
      const script = join(base, 'cleanup.sh');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(script, uninstallScript(SHAREDIR));
      const { execFileSync } = await import('node:child_process');
      execFileSync('sh', [script]);
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('refuses a segment that accepts only SSL when its URL does not ask for it, changing nothing', {
    timeout: SLOW,
  }, async () => {
    const result = await cli([
      'db',
      'attach',
      '--coordinator',
      coordinatorUrl,
      '--segment',
      segmentUrls[0],
      '--segment',
      segmentUrls[1].replace('?sslmode=require', ''),
      '--password-file',
      passfile,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        'seg1: cannot connect to postgresql://admin@127\\.0\\.0\\.3:\\d+/bench: .*no encryption ' +
          '\\(it accepts SSL connections only: add \\?sslmode=require to its URL\\)',
      ),
    );
    expect(result.stderr).toMatch(/Nothing was changed in the databases/);
    expect(await query(a, 'postgres', "SELECT datname FROM pg_database WHERE datname = 'bench_seg0'")).toEqual([]);
  });

  it.skipIf(!isolated)(
    'says what to run on a host whose files it cannot write, and attaches once that ran there',
    { timeout: SLOW },
    async () => {
      const refused = await cli([
        'db',
        'attach',
        '--coordinator',
        coordinatorUrl,
        ...segmentUrls.flatMap((u) => ['--segment', u]),
        '--password-file',
        passfile,
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /done: installed the bench extension \w+ and bench_engine \w+ for coordinator, seg0 on this machine/,
      );
      const script =
        /seg1: bench's files are missing on the server's host \(127\.0\.0\.3.*On that host run, as root: sh (\S+)/.exec(
          refused.stderr,
        )?.[1];
      expect(script).toBeDefined();
      // "ssh 127.0.0.3 sudo sh < script": the script travels on stdin into the other host's file system.
      await b.shell('sh', readFileSync(script as string, 'utf8'));
      expect(await b.shell(`ls ${SHAREDIR}/bench`)).toMatch(/engine-\w+/);
    },
  );

  it('attaches: the extension, the engine, the settings and the postgres_fdw wiring, and the check passes', {
    timeout: SLOW,
  }, async () => {
    const result = await cli([
      'db',
      'attach',
      '--coordinator',
      coordinatorUrl,
      ...segmentUrls.flatMap((u) => ['--segment', u]),
      '--password-file',
      passfile,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /coordinator: created foreign server seg1 -> postgresql:\/\/admin@127\.0\.0\.3:\d+\/bench\?sslmode=require/,
    );
    expect(result.stdout).toMatch(/seg0: created database bench_seg0/);
    expect(result.stdout).not.toMatch(/coordinator: created database bench\b/);
    expect(result.stdout).toMatch(/coordinator: set jit = off for admin in bench \(was on\)/);
    expect(result.stdout).toMatch(/layout ok/);
    expect(result.stdout).toMatch(/fdw seg1 +reaches .*the bench_step aggregate is pushed down/);
    expect(result.stdout).toMatch(
      /engine +bench_engine \w+ from \/usr\/share\/postgresql\/15\/bench\/engine-\w+\/bench_engine/,
    );
    // The servers run as another OS user, and the segment's password reached its user mapping only.
    expect(result.stdout).toMatch(/as OS user benchtest/);
    const mappings = await query<{ umoptions: string[] }>(
      a,
      'bench',
      "SELECT umoptions FROM pg_user_mappings WHERE srvname = 'seg1'",
    );
    expect(mappings[0].umoptions).toContain(`password=${b.password}`);
    const again = await cli([
      'db',
      'attach',
      '--coordinator',
      coordinatorUrl,
      ...segmentUrls.flatMap((u) => ['--segment', u]),
      '--password-file',
      passfile,
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to do: the layout was already attached/);
  });

  // udaf and ma are synchronous, so seeded runs train identically anywhere: compared with the
  // embedded cluster's run value for value. ctq and export schedule asynchronously (the order of
  // sub-epochs follows timing): compared in shape.
  it.each([
    ['udaf', [], true],
    ['ctq', ['--option', 'models-in=db'], false],
    ['export', [], false],
    ['ma', [], true],
  ] as const)(
    'runs %s through --db: the units and metrics of an embedded-cluster run',
    { timeout: SLOW },
    async (approach, extra, deterministic) => {
      const db = `postgresql://${SUPERUSER}:${encodeURIComponent(a.password)}@127.0.0.2:${a.port}/bench`;
      const common = [
        'run',
        '--approach',
        approach,
        '--workload',
        'criteo',
        '--scale',
        'tiny',
        '--sample-ms',
        '0',
        ...extra,
      ];
      const attached = await cli([...common, '--db', db, '--runs-dir', join(base, 'runs')]);
      expect(attached.code, `${approach}: ${attached.stderr}`).toBe(0);
      const got = readRun(runFolderOf(attached));
      expect(got.status).toBe('complete');
      expect(got.units).toBe(got.expectedUnits);
      expect(got.segments).toBe(2);
      expect([...got.metrics.keys()].sort()).toEqual(got.expectedMetrics);
      if (!deterministic) return;
      const embedded = await cli([...common, '--runs-dir', join(base, 'embedded-runs')]);
      expect(embedded.code, `${approach} (embedded): ${embedded.stderr}`).toBe(0);
      const want = readRun(runFolderOf(embedded));
      expect(got.units).toBe(want.units);
      for (const [key, loss] of want.metrics) expect(got.metrics.get(key), `${approach} ${key}`).toBeCloseTo(loss, 5);
    },
  );

  it.skipIf(!isolated)('da refuses a segment whose data directory is on another host, naming it', async () => {
    const result = await cli(
      [
        'run',
        '--approach',
        'da',
        '--workload',
        'criteo',
        '--scale',
        'tiny',
        '--db',
        coordinatorUrl,
        '--runs-dir',
        join(base, 'runs'),
      ],
      { PGPASSFILE: passfile },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /seg1's cannot be read here: its data directory \S+ is not on this machine \(the server runs on another host\)/,
    );
  });

  it('da runs on attached servers whose data directories are readable here', { timeout: SLOW }, async () => {
    const url = (db: string): string => `postgresql://${SUPERUSER}@127.0.0.2:${a.port}/${db}`;
    const attached = await cli(
      ['db', 'attach', '--coordinator', url('local2'), '--segment', url('local2_s0'), '--segment', url('local2_s1')],
      { PGPASSFILE: passfile },
    );
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stdout).toMatch(/ok +data directory +\S+ is readable here: da and da-ddp can run/);
    const run = await cli(
      [
        'run',
        '--approach',
        'da',
        '--workload',
        'criteo',
        '--scale',
        'tiny',
        '--sample-ms',
        '0',
        '--db',
        url('local2'),
        '--runs-dir',
        join(base, 'runs'),
      ],
      { PGPASSFILE: passfile },
    );
    expect(run.code, run.stderr).toBe(0);
    const shape = readRun(runFolderOf(run));
    expect(shape.status).toBe('complete');
    expect(shape.units).toBe(shape.expectedUnits);
    const detached = await cli(['db', 'detach', '--db', url('local2')], { PGPASSFILE: passfile });
    expect(detached.code, detached.stderr).toBe(0);
    expect(detached.stdout).toMatch(/coordinator: dropped database local2 /);
    // The first layout still uses the files bench installed on this machine.
    expect(detached.stdout).toMatch(/left: bench's files on the host of .* still used by the bench extension in bench/);
    expect(existsSync(`${SHAREDIR}/bench`)).toBe(true);
  });

  it('check names what is broken and the command that repairs it', { timeout: SLOW }, async () => {
    await query(a, 'bench', "ALTER SERVER seg0 OPTIONS (SET extensions 'plpgsql')");
    await b.stop();
    const broken = await cli(['db', 'check', '--db', coordinatorUrl], { PGPASSFILE: passfile });
    await b.start();
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/FAIL +fdw seg0 +server options differ: extensions is plpgsql \(needs bench\)/);
    expect(broken.stdout).toMatch(
      /FAIL +connection +postgresql:\/\/admin@127\.0\.0\.3:\d+\/bench\?sslmode=require: connect ECONNREFUSED/,
    );
    expect(broken.stdout).toMatch(
      /repair command: npx bench db attach --coordinator postgresql:\/\/admin@127\.0\.0\.2:\d+\/bench --segment/,
    );
    const repaired = await cli(
      ['db', 'attach', '--coordinator', coordinatorUrl, ...segmentUrls.flatMap((u) => ['--segment', u])],
      { PGPASSFILE: passfile },
    );
    expect(repaired.code, repaired.stdout).toBe(0);
  });

  it('never prints or stores a password: not in the run folders, events, errors or anything bench printed', {
    timeout: SLOW,
  }, async () => {
    const db = `postgresql://${SUPERUSER}:${encodeURIComponent(a.password)}@127.0.0.2:${a.port}/bench`;
    // A segment that goes away: the error names it, with its URL, and no password.
    await b.stop();
    const failed = await cli([
      'run',
      '--approach',
      'udaf',
      '--workload',
      'criteo',
      '--scale',
      'tiny',
      '--sample-ms',
      '0',
      '--db',
      db,
      '--runs-dir',
      join(base, 'runs'),
    ]);
    await b.start();
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/seg1/);
    const wrongPort = await cli([
      'run',
      '--approach',
      'udaf',
      '--workload',
      'criteo',
      '--db',
      db.replace(`:${a.port}/`, ':1/'),
      '--runs-dir',
      join(base, 'runs'),
    ]);
    expect(wrongPort.stderr).toMatch(/could not connect to coordinator at postgresql:\/\/admin@127\.0\.0\.2:1\/bench/);
    const secrets = [a.password, b.password].flatMap((s) => [s, encodeURIComponent(s)]);
    const files = [...filesUnder(join(base, 'runs')), ...filesUnder(join(base, 'embedded-runs'))];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(file, 'latin1');
      for (const secret of secrets) expect(text.includes(secret), `${file} holds a password`).toBe(false);
    }
    expect(printed.length).toBeGreaterThan(8);
    for (const result of printed) {
      for (const secret of secrets)
        expect(`${result.stdout}\n${result.stderr}`.includes(secret), 'bench printed a password').toBe(false);
    }
  });

  it('detach removes what attach created, puts back what it changed, and leaves the rest', {
    timeout: SLOW,
  }, async () => {
    const result = await cli(['db', 'detach', '--db', coordinatorUrl], { PGPASSFILE: passfile });
    expect(result.stdout).toMatch(/coordinator: dropped foreign server seg0/);
    expect(result.stdout).toMatch(/coordinator: put back jit = on for admin in bench/);
    expect(result.stdout).toMatch(/seg0: dropped database bench_seg0 /);
    expect(result.stdout).toMatch(/seg1: dropped database bench /);
    if (isolated) {
      expect(result.code).toBe(1);
      const script = /there, as root: sh (\S+)/.exec(result.stdout)?.[1];
      expect(script).toBeDefined();
      await b.shell('sh', readFileSync(script as string, 'utf8'));
      expect(await b.shell(`ls ${SHAREDIR} ${SHAREDIR}/extension ${pythonSiteDir()} | grep -c bench || true`)).toBe(
        '0\n',
      );
    } else {
      expect(result.code).toBe(0);
    }
    // The user's objects and settings, as they were.
    expect(await query(a, 'bench', 'SELECT x FROM user_keep')).toEqual([{ x: 42 }]);
    const extensions = (
      await query<{ extname: string }>(a, 'bench', 'SELECT extname FROM pg_extension ORDER BY 1')
    ).map((r) => r.extname);
    expect(extensions).toEqual(['plpgsql', 'plpython3u']);
    expect(await query(a, 'bench', 'SELECT srvname FROM pg_foreign_server')).toEqual([]);
    expect(await query(a, 'bench', "SELECT to_regclass('bench_attachment') AS t")).toEqual([{ t: null }]);
    const settings = await query<{ setconfig: string[] }>(
      a,
      'bench',
      `SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
          WHERE d.datname = 'bench'`,
    );
    expect(settings.map((s) => [...s.setconfig].sort())).toEqual([['jit=on', 'work_mem=7MB']]);
    expect(
      await query(
        a,
        'postgres',
        "SELECT datname FROM pg_database WHERE datname LIKE 'bench%' OR datname LIKE 'local2%' ORDER BY 1",
      ),
    ).toEqual([{ datname: 'bench' }]);
    expect(await query(b, 'postgres', "SELECT datname FROM pg_database WHERE datname = 'bench'", true)).toEqual([]);
    // bench's files on this machine: as before attach.
    expect({ benchDir: existsSync(`${SHAREDIR}/bench`), pth: existsSync(SITE_PTH) }).toEqual(hostBefore);
  });
});
