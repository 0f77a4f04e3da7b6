// Unknown command-line flags, named with a did-you-mean (yargs' strict mode names them, but reports a
// missing required flag first when the unknown one is a misspelling of it).
import yargs, { type Argv, type CommandModule } from 'yargs';
import { didYouMean } from '../core/options.js';

export interface ParserOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
}

/** The flags a command accepts: its builder run on a fresh parser, whose option table is then read. */
export function commandFlags(command: CommandModule<object, object>): Set<string> {
  const probe = yargs([]);
  if (typeof command.builder === 'function') command.builder(probe as Argv<object>);
  else if (command.builder) probe.options(command.builder);
  const table = (probe as unknown as { getOptions(): ParserOptions }).getOptions();
  return knownFlags(table);
}

/** Every flag name the command accepts, aliases included. */
export function knownFlags(options: ParserOptions): Set<string> {
  const known = new Set<string>(['help', 'version', '$0', '_']);
  for (const key of Object.keys(options.key)) known.add(key);
  for (const [key, aliases] of Object.entries(options.alias)) {
    known.add(key);
    for (const alias of aliases) known.add(alias);
  }
  return known;
}

/** One message per flag in `argv` that the command does not accept. */
export function unknownFlags(argv: readonly string[], known: ReadonlySet<string>): string[] {
  const candidates = [...known].filter((k) => k.length > 1 && k !== '$0' && k !== '_');
  const messages: string[] = [];
  for (const token of argv) {
    if (token === '--') break;
    const match = /^--?(?:no-)?([^=]+)/.exec(token);
    if (!match || /^-\d/.test(token)) continue;
    const names = token.startsWith('--') ? [match[1]] : [...match[1]];
    for (const name of names) {
      const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (known.has(name) || known.has(camel)) continue;
      messages.push(
        `unknown flag ${name.length > 1 ? '--' : '-'}${name}${didYouMean(name, candidates).replace('"', '"--')}`,
      );
    }
  }
  return messages;
}
