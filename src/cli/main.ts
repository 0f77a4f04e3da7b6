#!/usr/bin/env -S npx tsx
// The `bench` command line.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { dbCommand } from './commands/db.js';
import { demoCommand } from './commands/demo.js';
import { listCommand } from './commands/list.js';
import { runCommand } from './commands/run.js';
import { reportCommand } from './commands/report.js';
import { compareCommand } from './commands/compare.js';
import { simulateCommand } from './commands/simulate.js';
import { dataCommand } from './commands/data.js';
import { inspectCommand } from './commands/inspect.js';
import { redact } from '../core/secrets.js';
import { usePasswordFile } from '../db/credentials.js';

await yargs(hideBin(process.argv))
  .scriptName('bench')
  .command(runCommand)
  .command(listCommand)
  .command(dbCommand)
  .command(demoCommand)
  .command(dataCommand)
  .command(simulateCommand)
  .command(reportCommand)
  .command(compareCommand)
  .command(inspectCommand)
  .option('password-file', {
    type: 'string',
    global: true,
    describe: 'passwords in ~/.pgpass format (host:port:database:user:password), instead of PGPASSFILE / ~/.pgpass',
  })
  .middleware((argv) => usePasswordFile(argv['password-file'] as string | undefined))
  .demandCommand(1, 'say which command to run; see bench --help')
  .strict()
  .fail((message, error, y) => {
    if (error) {
      console.error(`bench: ${redact(error.message)}`);
    } else {
      console.error(`${y.help()}\n\nbench: ${redact(message)}`);
    }
    process.exit(2);
  })
  .help()
  .parseAsync();
