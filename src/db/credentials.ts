// Passwords the PostgreSQL way (docs/attach.md, "Credentials"), in libpq's order: the URL's password,
// then PGPASSWORD, then a password file (`--password-file`, else PGPASSFILE, else ~/.pgpass). An
// instance of the embedded cluster reads the cluster's own password file first. Every password found
// is registered with `redact`, so it is masked wherever it could be printed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../core/secrets.js';
import { clusterPassfile } from './cluster-dir.js';
import type { Instance } from './topology.js';

export interface PassfileEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

/** One pgpass line split on unescaped colons (`\:` and `\\` are escapes); undefined for comments and blanks. */
export function parsePassfileLine(line: string): PassfileEntry | undefined {
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) current += line[++i];
    else if (c === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  if (fields.length !== 5) return undefined;
  const [host, port, database, user, password] = fields;
  return { host, port, database, user, password };
}

export function parsePassfile(text: string): PassfileEntry[] {
  return text.split(/\r?\n/).flatMap((line) => parsePassfileLine(line) ?? []);
}

/** The password of the first entry matching the instance, as libpq chooses it. */
export function passfileLookup(
  entries: PassfileEntry[],
  instance: Pick<Instance, 'host' | 'port' | 'database' | 'user'>,
): string | undefined {
  const field = (pattern: string, value: string): boolean => pattern === '*' || pattern === value;
  const hostMatches = (pattern: string): boolean =>
    field(pattern, instance.host) || (pattern === 'localhost' && instance.host.startsWith('/'));
  return entries.find(
    (e) =>
      hostMatches(e.host) &&
      field(e.port, String(instance.port)) &&
      field(e.database, instance.database) &&
      field(e.user, instance.user),
  )?.password;
}

/** A password file line for one instance (escaping as libpq reads it). */
export function passfileLine(entry: PassfileEntry): string {
  const esc = (s: string): string => s.replace(/([\\:])/g, '\\$1');
  return [entry.host, entry.port, entry.database, entry.user, entry.password].map(esc).join(':');
}

/** A password file bench must use: it exists, is a plain file and only its owner can read it (libpq's rule). */
export function readPassfile(path: string, origin: string): PassfileEntry[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new Error(`${origin} ${path} cannot be read: ${(error as Error).message}`);
  }
  if (!stat.isFile()) throw new Error(`${origin} ${path} is not a plain file`);
  if (stat.mode & 0o077) {
    throw new Error(
      `${origin} ${path} has group or other access (mode ${(stat.mode & 0o777).toString(8)}); libpq ignores such ` +
        `files: chmod 600 ${path}`,
    );
  }
  return parsePassfile(readFileSync(path, 'utf8'));
}

const EMBEDDED_PASSFILE = 'the embedded cluster password file';
let passwordFile: string | undefined;
const warned = new Set<string>();

/** `--password-file`: a password file in ~/.pgpass format that replaces PGPASSFILE and ~/.pgpass. */
export function usePasswordFile(path: string | undefined): void {
  if (path !== undefined) readPassfile(path, '--password-file');
  passwordFile = path;
}

/** The user's own password file (PGPASSFILE or ~/.pgpass), ignored with a warning when unsafe, as libpq does. */
function userPassfileEntries(): PassfileEntry[] {
  if (passwordFile) return readPassfile(passwordFile, '--password-file');
  const path = process.env.PGPASSFILE ?? join(process.env.HOME ?? homedir(), '.pgpass');
  if (!existsSync(path)) return [];
  try {
    return readPassfile(path, process.env.PGPASSFILE ? 'PGPASSFILE' : 'the password file');
  } catch (error) {
    if (!warned.has(path)) {
      warned.add(path);
      process.stderr.write(`bench: warning: ${(error as Error).message}\n`);
    }
    return [];
  }
}

/** The password to connect to `instance` with, or undefined to connect without one. */
export function resolvePassword(instance: Instance): string | undefined {
  const found = (() => {
    if (instance.passfile && existsSync(instance.passfile)) {
      const own = passfileLookup(readPassfile(instance.passfile, EMBEDDED_PASSFILE), instance);
      if (own !== undefined) return own;
    }
    if (instance.password !== undefined) return instance.password;
    if (process.env.PGPASSWORD !== undefined) return process.env.PGPASSWORD;
    const user = passfileLookup(userPassfileEntries(), instance);
    if (user !== undefined) return user;
    // Last, the embedded cluster's own file: a --db URL may name one of its instances.
    const embedded = clusterPassfile();
    if (embedded === instance.passfile || !existsSync(embedded)) return undefined;
    try {
      return passfileLookup(readPassfile(embedded, EMBEDDED_PASSFILE), instance);
    } catch {
      return undefined; // another user's cluster: not ours to read
    }
  })();
  registerSecret(found);
  return found;
}
