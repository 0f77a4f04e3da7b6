// Whether this machine shares a server's file system (docs/attach.md, "Same host or not"): bench
// writes a file with a random name where the server keeps its files and asks the server whether it
// sees it. And whether a server's data directory can be read from here (the direct reader of `da`).
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { withClient } from './connect.js';
import { serverFacts, serverSeesFile } from './probe.js';
import type { Topology } from './topology.js';

const run = promisify(execFile);

export type HostAccess = { local: true } | { local: false; reason: string };

/** Can bench write `dir` here and does the server see what it writes there? */
export async function sharedWritableDir(client: pg.Client, dir: string): Promise<HostAccess> {
  if (!existsSync(dir)) return { local: false, reason: `${dir} does not exist on this machine` };
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return { local: false, reason: `this user (uid ${process.getuid?.()}) cannot write ${dir} here` };
  }
  const probe = join(dir, `.bench-probe-${randomBytes(8).toString('hex')}`);
  await writeFile(probe, 'bench\n');
  try {
    const seen = await serverSeesFile(client, probe);
    return seen
      ? { local: true }
      : { local: false, reason: `the server does not see files written to ${dir} here: it runs on another host` };
  } finally {
    await rm(probe, { force: true });
  }
}

/** Run a generated shell script on this machine. */
export async function runScript(path: string): Promise<string> {
  try {
    const { stdout } = await run('sh', [path], { maxBuffer: 1 << 20 });
    return stdout.trim();
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`sh ${path} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * Whether the data directory the server reports can be read here and is that server's (its
 * pg_control carries the same system identifier): the condition for reading its files directly.
 */
export async function dataDirectoryReadable(
  dataDirectory: string | undefined,
  systemIdentifier: string | undefined,
): Promise<HostAccess> {
  if (!dataDirectory || !systemIdentifier) {
    return { local: false, reason: 'the server does not tell this user its data directory (needs a superuser)' };
  }
  const control = join(dataDirectory, 'global', 'pg_control');
  let handle;
  try {
    handle = await open(control, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return {
        local: false,
        reason: `its data directory ${dataDirectory} is not on this machine (the server runs on another host)`,
      };
    if (code === 'EACCES') {
      return {
        local: false,
        reason:
          `its data directory ${dataDirectory} is not readable by this user (uid ${process.getuid?.()}); ` +
          "make it group-readable (initdb --allow-group-access) and join the server's group",
      };
    }
    return { local: false, reason: `cannot open ${control}: ${(error as Error).message}` };
  }
  try {
    const buffer = Buffer.alloc(8);
    await handle.read(buffer, 0, 8, 0);
    const id = buffer.readBigUInt64LE(0).toString();
    if (id !== systemIdentifier) {
      return {
        local: false,
        reason:
          `${dataDirectory} here belongs to another cluster (system identifier ${id}, ` +
          `the server's is ${systemIdentifier}): the server runs on another host`,
      };
    }
    return { local: true };
  } finally {
    await handle.close();
  }
}

/**
 * The segments whose files the direct reader (da, da-ddp) cannot read from here, each with the
 * reason. The embedded cluster's are local by construction.
 */
export async function directReadProblems(topology: Topology): Promise<{ instance: string; reason: string }[]> {
  const results = await Promise.all(
    topology.segments.map(async (segment) => {
      if (segment.dataDir) return undefined;
      try {
        const facts = await withClient(segment, (client) => serverFacts(client));
        const access = await dataDirectoryReadable(facts.dataDirectory, facts.systemIdentifier);
        return access.local ? undefined : { instance: segment.name, reason: access.reason };
      } catch (error) {
        return { instance: segment.name, reason: (error as Error).message };
      }
    }),
  );
  return results.filter((r): r is { instance: string; reason: string } => r !== undefined);
}
