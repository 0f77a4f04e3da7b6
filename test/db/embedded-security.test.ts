// The embedded cluster lets in only its owner (docs/attach.md, "The embedded cluster"): a password
// from its 0600 password file on every connection, TCP and socket; a cluster made with `trust` is
// moved to it by `bench db up`; a taken port on `bench db up` is named and nothing is left half-started.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod, chown, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPassfile, clusterSocketDir } from '../../src/db/cluster-dir.js';
import { checkLayout, checkPassed } from '../../src/db/check.js';
import { withClient } from '../../src/db/connect.js';
import { HBA_CONF } from '../../src/db/embedded-auth.js';
import { isRoot, postgresOwner } from '../../src/db/postgres-os.js';
import type { Instance, Topology } from '../../src/db/topology.js';
import { testTopology } from '../helpers/cluster.js';
import { bench } from './cli.js';

const run = promisify(execFile);

async function rawConnect(config: pg.ClientConfig): Promise<void> {
  const client = new pg.Client({ user: 'postgres', database: 'bench', ...config });
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('the embedded cluster lets in only its owner', () => {
  it('asks every connection for the password in its 0600 password file, on loopback and on the socket', async () => {
    const { coordinator, segments } = await testTopology();
    for (const instance of [coordinator, ...segments]) {
      await expect(rawConnect({ host: '127.0.0.1', port: instance.port })).rejects.toThrow(/password/);
      await expect(rawConnect({ host: clusterSocketDir(), port: instance.port })).rejects.toThrow(/password/);
      await expect(rawConnect({ host: '127.0.0.1', port: instance.port, password: 'not-the-secret' })).rejects.toThrow(
        /password authentication failed/,
      );
      expect(readFileSync(join(instance.dataDir as string, 'pg_hba.conf'), 'utf8')).toBe(HBA_CONF);
      // bench's own clients read the password file.
      expect(
        await withClient(instance, async (c) => (await c.query<{ ok: number }>('SELECT 1 AS ok')).rows[0].ok),
      ).toBe(1);
    }
    const stat = statSync(clusterPassfile());
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.uid).toBe(process.getuid?.());
  });

  it.skipIf(!isRoot())('keeps another OS account out: it cannot read the password file', async () => {
    const { coordinator } = await testTopology();
    const psql = run('runuser', [
      '-u',
      'nobody',
      '--',
      'env',
      `PGPASSFILE=${clusterPassfile()}`,
      'psql',
      '-w',
      '-h',
      '127.0.0.1',
      '-p',
      String(coordinator.port),
      '-U',
      'postgres',
      '-d',
      'bench',
      '-c',
      'SELECT 1',
    ]);
    await expect(psql).rejects.toThrow(/no password supplied|password authentication failed/);
  });

  it('wires the segments with the password in the user mappings only, and the fdw reaches them', async () => {
    const topology = await testTopology();
    const rows = await checkLayout(topology, { engine: false });
    expect(rows.filter((r) => r.item.startsWith('fdw')).map((r) => r.status)).toEqual(
      topology.segments.map(() => 'ok'),
    );
    const status = await bench(['db', 'status']);
    const secret = readFileSync(clusterPassfile(), 'utf8').split('\n')[0].split(':').pop() as string;
    expect(status.stdout).toMatch(/password: in \S+passfile/);
    expect(`${status.stdout}${status.stderr}`).not.toContain(secret);
    expect(checkPassed(rows)).toBe(true);
  });
});

/** A second embedded cluster under its own BENCH_HOME, driven through the CLI as a user would. */
describe('bench db up on a private cluster', () => {
  const home = mkdtempSync('/tmp/bench-home-');
  const env = { BENCH_HOME: home };
  const dir = join(home, 'pg');
  let blocker: Server | undefined;

  function topology(): Topology {
    const stored = JSON.parse(readFileSync(join(dir, 'topology.json'), 'utf8')) as { ports: number[] };
    const instance = (name: string, port: number): Instance => ({
      name,
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'bench',
      passfile: join(dir, 'passfile'),
      dataDir: join(dir, name),
    });
    return {
      coordinator: instance('coordinator', stored.ports[0]),
      segments: [instance('seg0', stored.ports[1])],
      embedded: true,
    };
  }

  beforeAll(async () => {
    await chmod(home, 0o755);
    const up = await bench(['db', 'up', '--segments', '1'], env);
    expect(up.code, up.stderr).toBe(0);
  });

  afterAll(async () => {
    blocker?.close();
    await bench(['db', 'down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  it('moves a cluster that let everyone in (trust) to the password on `db up`', async () => {
    const before = topology();
    // Make it what bench made before: trust in pg_hba.conf, no role password, mappings without one, no password file.
    const trust = ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust', ''].join(
      '\n',
    );
    for (const instance of [before.coordinator, ...before.segments]) {
      const hba = join(instance.dataDir as string, 'pg_hba.conf');
      await writeFile(hba, trust);
      const owner = postgresOwner();
      if (owner) await chown(hba, owner.uid, owner.gid);
      await withClient(instance, async (c) => {
        await c.query('SELECT pg_reload_conf()');
      });
    }
    const trusting = { ...before.coordinator, passfile: undefined };
    await withClient(trusting, async (c) => {
      await c.query('ALTER ROLE postgres PASSWORD NULL');
      await c.query('ALTER USER MAPPING FOR postgres SERVER seg0 OPTIONS (DROP password)');
    });
    await rm(join(dir, 'passfile'));
    await rawConnect({ host: '127.0.0.1', port: before.coordinator.port });

    const up = await bench(['db', 'up'], env);
    expect(up.code, up.stderr).toBe(0);
    expect(statSync(join(dir, 'passfile')).mode & 0o777).toBe(0o600);
    const after = topology();
    for (const instance of [after.coordinator, ...after.segments]) {
      await expect(rawConnect({ host: '127.0.0.1', port: instance.port })).rejects.toThrow(/password/);
      expect(readFileSync(join(instance.dataDir as string, 'pg_hba.conf'), 'utf8')).toBe(HBA_CONF);
    }
    const rows = await checkLayout(after, { engine: false });
    expect(rows.filter((r) => r.status === 'FAIL')).toEqual([]);
  });

  it('names a taken port and its holder, starts nothing, and --new-ports moves the cluster', async () => {
    expect((await bench(['db', 'down'], env)).code).toBe(0);
    const port = topology().segments[0].port;
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(port, '127.0.0.1', resolve));
    const up = await bench(['db', 'up'], env);
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(`seg0's port ${port} on 127.0.0.1 is taken by pid ${process.pid}`);
    expect(up.stderr).toMatch(/Nothing was started/);
    const status = await bench(['db', 'status'], env);
    expect(status.stdout).toMatch(/coordinator .* no\n/);
    expect(status.stdout).toMatch(/seg0 .* no\n/);
    expect(existsSync(join(dir, 'coordinator', 'postmaster.pid'))).toBe(false);

    const moved = await bench(['db', 'up', '--new-ports'], env);
    expect(moved.code, moved.stderr).toBe(0);
    const after = topology();
    expect(after.segments[0].port).not.toBe(port);
    const rows = await checkLayout(after, { engine: false });
    expect(rows.filter((r) => r.status === 'FAIL')).toEqual([]);
  });
});
