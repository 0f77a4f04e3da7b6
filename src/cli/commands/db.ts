// `bench db ...`: the embedded cluster (up, down, status, url) and layouts on servers bench did not
// start (attach, check, detach; docs/attach.md).
import type { Argv, CommandModule } from 'yargs';
import { clusterStatus, ensureCluster, stopCluster, storedTopology } from '../../db/cluster.js';
import { clusterPassfile } from '../../db/cluster-dir.js';
import { LayoutRefused, attach, repairCommand } from '../../db/attach.js';
import { REPAIR, checkLayout, checkPassed, type CheckRow } from '../../db/check.js';
import { detach } from '../../db/detach.js';
import { discoverTopology, externalCoordinator } from '../../db/resolve.js';
import { instanceUrl } from '../../db/topology.js';
import { formatTable } from '../format.js';

/** The check as lines per instance: status, item, detail, and the fix under a problem. */
export function formatCheck(rows: CheckRow[], repair: string): string {
  const itemWidth = Math.max(...rows.map((r) => r.item.length));
  const lines: string[] = [];
  let current: string | undefined;
  for (const row of rows) {
    if (row.instance !== current) {
      current = row.instance;
      lines.push(`${lines.length ? '\n' : ''}${row.instance}`);
    }
    lines.push(`  ${row.status.padEnd(4)}  ${row.item.padEnd(itemWidth)}  ${row.detail}`);
    if (row.fix && row.status !== 'ok') lines.push(`  ${' '.repeat(4)}  ${' '.repeat(itemWidth)}  fix: ${row.fix}`);
  }
  const failed = rows.filter((r) => r.status === 'FAIL').length;
  const warned = rows.filter((r) => r.status === 'warn').length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    failed
      ? `${plural(failed, 'problem')}${warned ? `, ${plural(warned, 'warning')}` : ''}`
      : `layout ok${warned ? ` (${plural(warned, 'warning')})` : ''}`,
  );
  if (rows.some((r) => r.fix === REPAIR && r.status !== 'ok')) lines.push(`repair command: ${repair}`);
  return lines.join('\n');
}

const up: CommandModule<object, { segments?: number; 'new-ports'?: boolean }> = {
  command: 'up',
  describe: 'start the embedded cluster (creating it on first use)',
  builder: (yargs) =>
    yargs
      .option('segments', {
        type: 'number',
        describe: 'segment instances (default 4; a different count rebuilds the cluster)',
      })
      .option('new-ports', {
        type: 'boolean',
        describe: 'move a stopped cluster to free ports (when another program took one)',
      }),
  handler: async (args) => {
    const topology = await ensureCluster({ segments: args.segments, newPorts: args['new-ports'] });
    console.log(
      `embedded cluster up: coordinator ${instanceUrl(topology.coordinator)}, ${topology.segments.length} segments`,
    );
  },
};

const down: CommandModule = {
  command: 'down',
  describe: 'stop the embedded cluster',
  handler: async () => {
    await stopCluster();
    console.log('embedded cluster stopped');
  },
};

const status: CommandModule = {
  command: 'status',
  describe: "the embedded cluster's instances and whether each runs",
  handler: async () => {
    const found = await clusterStatus();
    if (!found) {
      console.log('no embedded cluster yet; start one with `npx bench db up`');
      return;
    }
    console.log(
      formatTable(
        ['instance', 'url', 'data directory', 'running'],
        found.map((s) => [
          s.instance.name,
          instanceUrl(s.instance),
          s.instance.dataDir ?? '',
          s.running ? 'yes' : 'no',
        ]),
      ),
    );
    console.log(`\npassword: in ${clusterPassfile()} (for psql: PGPASSFILE=${clusterPassfile()} psql <url>)`);
  },
};

const url: CommandModule = {
  command: 'url',
  describe: "the embedded coordinator's URL (its password is in the cluster's password file)",
  handler: async () => {
    const found = await clusterStatus();
    if (!found) {
      console.log('no embedded cluster yet; start one with `npx bench db up`');
      process.exitCode = 1;
      return;
    }
    console.log(instanceUrl(found[0].instance));
  },
};

const attachCommand: CommandModule<object, { coordinator: string; segment: string[] }> = {
  command: 'attach',
  describe: 'build the coordinator + segments layout on PostgreSQL servers bench did not start',
  builder: (yargs) =>
    yargs
      .option('coordinator', {
        type: 'string',
        demandOption: true,
        describe: 'postgresql:// URL of the coordinator database (created if missing)',
      })
      .option('segment', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'postgresql:// URL of a segment database; repeat, in order',
      })
      .example(
        '$0 db attach --coordinator postgresql://bench@db0/bench ' +
          '--segment postgresql://bench@db1/bench --segment postgresql://bench@db2/bench',
        '',
      )
      .epilogue(
        'Passwords: ~/.pgpass, PGPASSFILE, PGPASSWORD or --password-file; they are kept only in the user mappings.',
      ) as unknown as Argv<{
      coordinator: string;
      segment: string[];
    }>,
  handler: async (args) => {
    try {
      const outcome = await attach(args.coordinator, args.segment);
      for (const action of outcome.actions) console.log(action);
      if (outcome.actions.length === 0) console.log('nothing to do: the layout was already attached');
      console.log(`\n${formatCheck(outcome.check, repairCommand(outcome.topology))}`);
      if (!checkPassed(outcome.check)) process.exitCode = 1;
      else
        console.log(
          `\nrun on it with: npx bench run --approach <id> --workload <id> --db ` +
            `${instanceUrl(outcome.topology.coordinator)}`,
        );
    } catch (error) {
      if (!(error instanceof LayoutRefused)) throw error;
      console.error(error.message);
      console.error('\nNothing was changed in the databases.');
      process.exitCode = 1;
    }
  },
};

const check: CommandModule<object, { db?: string }> = {
  command: 'check',
  describe: 'check a layout: each instance, what is ok, what is missing and the fix (exit 1 on a problem)',
  builder: (yargs) =>
    yargs.option('db', {
      type: 'string',
      describe: 'coordinator URL (default: PG* variables, else the embedded cluster)',
    }),
  handler: async (args) => {
    const coordinator = externalCoordinator(args.db);
    const topology = coordinator ? await discoverTopology(coordinator) : await storedTopology();
    if (!topology) throw new Error('no embedded cluster yet (start one with `npx bench db up`), and no --db given');
    const rows = await checkLayout(topology);
    console.log(formatCheck(rows, topology.embedded ? 'npx bench db up' : repairCommand(topology)));
    if (!checkPassed(rows)) process.exitCode = 1;
  },
};

const detachCommand: CommandModule<object, { db: string }> = {
  command: 'detach',
  describe: 'remove what `bench db attach` created on a layout, and nothing else',
  builder: (yargs) =>
    yargs.option('db', {
      type: 'string',
      demandOption: true,
      describe: 'coordinator URL of the attached layout',
    }) as unknown as Argv<{ db: string }>,
  handler: async (args) => {
    const coordinator = externalCoordinator(args.db);
    if (!coordinator) throw new Error('--db is required');
    const outcome = await detach(coordinator);
    for (const action of outcome.actions) console.log(action);
    for (const left of outcome.left) console.log(`left: ${left}`);
    for (const command of outcome.commands) console.log(`to do: ${command}`);
    if (outcome.commands.length) process.exitCode = 1;
  },
};

/** The `db` subcommands (the CLI's unknown-flag messages look their flags up). */
export const DB_COMMANDS = [up, down, status, url, attachCommand, check, detachCommand] as const;

export const dbCommand: CommandModule = {
  command: 'db <command>',
  describe: 'the embedded cluster (up | down | status | url) and layouts on other servers (attach | check | detach)',
  builder: (yargs: Argv) =>
    DB_COMMANDS.reduce((y: Argv, command) => y.command(command as CommandModule), yargs).demandCommand(
      1,
      'say which: up, down, status, url, attach, check or detach',
    ),
  handler: () => undefined,
};
