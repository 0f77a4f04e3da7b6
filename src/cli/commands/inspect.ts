// `bench inspect <table> --via direct|sql`: dump any table of any instance through either data
// access path in one canonical form (src/access/canonical.ts), so that anyone can diff the two:
//
//   bench inspect iris_train_packed --via direct > a.jsonl
//   bench inspect iris_train_packed --via sql > b.jsonl && cmp a.jsonl b.jsonl
//
// --instance names the instance whose catalog resolves <table> (default the coordinator; a
// partitioned table there is read partition by partition, each on the segment instance that
// stores it). --url inspects one PostgreSQL instance outside any topology.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Argv, CommandModule } from 'yargs';
import {
  Binary,
  Bool,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  RecordBatchFileWriter,
  Schema,
  Uint32,
  Utf8,
  vectorFromArray,
  type DataType,
  Table,
  type Vector,
} from 'apache-arrow';
import { canonicalJson, canonicalLine, type CanonicalColumn } from '../../access/canonical.js';
import {
  type InstanceResolver,
  type LockMode,
  openDirectRead,
  topologyResolver,
  type Value,
} from '../../access/direct/index.js';
import { openSqlDump } from '../../access/sql-dump.js';
import type { Instance, Topology } from '../../db/topology.js';

export { topologyResolver };

interface InspectArgs {
  table: string;
  via: 'direct' | 'sql';
  instance: string;
  format: 'jsonl' | 'arrow';
  out?: string;
  columns?: string;
  db?: string;
  url?: string;
  'data-dir'?: string;
  lock: 'access-exclusive' | 'share';
  'lock-timeout'?: number;
  stats: boolean;
}

/** One instance from a postgresql:// URL (no topology). */
export function instanceFromUrl(url: string, dataDir?: string): Instance {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--url must look like postgresql://user@host:5432/dbname, got "${url}"`);
  }
  return {
    name: `${u.hostname}:${u.port || 5432}`,
    host: u.hostname || 'localhost',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    dataDir,
  };
}

export function pickInstance(topology: Topology, which: string): Instance {
  if (which === 'coordinator') return topology.coordinator;
  const n = Number(which.replace(/^seg/, ''));
  const seg = Number.isInteger(n) ? topology.segments[n] : undefined;
  if (!seg)
    throw new Error(
      `--instance must be coordinator or a segment number 0..${topology.segments.length - 1}, got "${which}"`,
    );
  return seg;
}

function arrowType(col: CanonicalColumn): DataType {
  if (col.type.elem) return new Utf8();
  switch (col.type.name) {
    case 'bool':
      return new Bool();
    case 'int2':
      return new Int16();
    case 'int4':
      return new Int32();
    case 'int8':
      return new Int64();
    case 'oid':
    case 'xid':
    case 'cid':
      return new Uint32();
    case 'float4':
      return new Float32();
    case 'float8':
      return new Float64();
    case 'bytea':
      return new Binary();
    default:
      return new Utf8();
  }
}

/** The Arrow form of a value: native where Arrow has the type, else the canonical text. */
function arrowValue(col: CanonicalColumn, v: Value): unknown {
  if (v === null) return null;
  if (col.type.elem) return canonicalJson(col.type, v);
  if (Buffer.isBuffer(v)) return new Uint8Array(v.buffer, v.byteOffset, v.length);
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return canonicalJson(col.type, v);
}

/** Write rows as an Arrow IPC file, in record batches of `batch` rows. */
async function writeArrow(
  out: Writable,
  columns: CanonicalColumn[],
  rows: AsyncIterable<Value[]>,
  batch = 4096,
): Promise<number> {
  const schema = new Schema(columns.map((c) => new Field(c.name, arrowType(c), true)));
  const writer = new RecordBatchFileWriter();
  writer.reset(undefined, schema);
  const pump = (async () => {
    for await (const chunk of writer) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  })();
  let count = 0;
  let pending: Value[][] = [];
  const flush = () => {
    if (!pending.length) return;
    const data: Record<string, Vector> = {};
    columns.forEach((c, i) => {
      data[c.name] = vectorFromArray(pending.map((r) => arrowValue(c, r[i])) as never[], arrowType(c));
    });
    writer.write(new Table(data));
    pending = [];
  };
  for await (const row of rows) {
    pending.push(row);
    count++;
    if (pending.length >= batch) flush();
  }
  flush();
  writer.finish();
  await pump;
  return count;
}

async function writeJsonl(out: Writable, columns: CanonicalColumn[], rows: AsyncIterable<Value[]>): Promise<number> {
  let count = 0;
  let text = '';
  for await (const row of rows) {
    text += `${canonicalLine(columns, row)}\n`;
    count++;
    if (text.length > 1 << 20) {
      if (!out.write(text)) await once(out, 'drain');
      text = '';
    }
  }
  if (text && !out.write(text)) await once(out, 'drain');
  return count;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <table>',
  describe: 'dump a table of any instance through the direct file reader or SQL, in one canonical form (diff the two)',
  builder: (yargs: Argv<object>) =>
    yargs
      .positional('table', { type: 'string', demandOption: true, describe: 'table name (schema-qualified if needed)' })
      .option('via', {
        choices: ['direct', 'sql'] as const,
        default: 'direct' as const,
        describe: 'read the relation files directly, or SELECT',
      })
      .option('instance', { type: 'string', default: 'coordinator', describe: 'coordinator, or a segment number' })
      .option('format', {
        choices: ['jsonl', 'arrow'] as const,
        default: 'jsonl' as const,
        describe: 'one JSON object per row, or an Arrow IPC file',
      })
      .option('out', { type: 'string', describe: 'output file (default: standard output)' })
      .option('columns', { type: 'string', describe: 'comma-separated columns (default: all, in attnum order)' })
      .option('db', {
        type: 'string',
        describe: 'coordinator URL of an existing cluster (default: the embedded cluster, or PG* variables)',
      })
      .option('url', {
        type: 'string',
        describe: 'inspect this one PostgreSQL instance (postgresql://user@host:port/db), no topology',
      })
      .option('data-dir', {
        type: 'string',
        describe: "with --url: the instance's data directory (default: SHOW data_directory)",
      })
      .option('lock', {
        choices: ['access-exclusive', 'share'] as const,
        default: 'access-exclusive' as const,
        describe: 'lock held while reading files (share lets readers in)',
      })
      .option('lock-timeout', {
        type: 'number',
        describe: 'refuse if the lock is not granted within this many ms (default: wait)',
      })
      .option('stats', {
        type: 'boolean',
        default: false,
        describe: 'print the direct read figures to stderr',
      }) as unknown as Argv<InspectArgs>,
  handler: async (args) => {
    let instance: Instance;
    let resolveInstance: InstanceResolver | undefined;
    if (args.url) {
      instance = instanceFromUrl(args.url, args['data-dir']);
    } else {
      const { resolveTopology } = await import('../../db/resolve.js');
      const topology = await resolveTopology({ db: args.db });
      instance = pickInstance(topology, args.instance);
      resolveInstance = topologyResolver(topology);
    }
    const columns = args.columns
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const source =
      args.via === 'direct'
        ? await openDirectRead(instance, args.table, {
            columns,
            resolveInstance,
            lockMode: (args.lock === 'share' ? 'SHARE' : 'ACCESS EXCLUSIVE') as LockMode,
            lockTimeoutMs: args['lock-timeout'],
          })
        : await openSqlDump(instance, args.table, { columns, resolveInstance });
    const out: Writable = args.out ? createWriteStream(args.out) : process.stdout;
    const count =
      args.format === 'arrow'
        ? await writeArrow(out, source.columns, source.rows())
        : await writeJsonl(out, source.columns, source.rows());
    if (args.out) {
      out.end();
      await once(out, 'finish');
    }
    if (args.stats) {
      const stats = 'stats' in source ? (source.stats as object) : {};
      console.error(JSON.stringify({ rows: count, relations: source.leaves.map((l) => l.via), ...stats }));
    }
  },
};
