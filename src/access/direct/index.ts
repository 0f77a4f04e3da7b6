// Direct Access, the module's public entry (the approaches and the CLI import this file; the
// tests and bench:access reach into the parts).
//
// Read PostgreSQL's own files exactly as SQL would - what it returns is what a
// SELECT under one snapshot returns, never a dead, uncommitted or torn row.
//
// Entry points:
//   readTableDirect(instance, table, { columns? })     -> AsyncIterable<Row>   any table, row by row
//   openDirectRead(instance, table, options)           -> { columns, leaves, rows(), stats, close() }
//   readPackedBuffers(instance, table, { stats? })     -> PackedRow[]          packed layout, batch
//
// `table` is resolved in `instance`'s catalog. A partitioned table is read partition by partition;
// a postgres_fdw partition (the embedded cluster's distributed tables on the coordinator) is read
// from the segment instance that stores it - pass resolveInstance: topologyResolver(topology) so
// that instance comes with its data directory. Or name a segment instance and its local table.
//
// Locking (session.ts): on every instance involved, in one transaction per instance and before
// any file is read: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; LOCK TABLE ONLY <relations>
// IN ACCESS EXCLUSIVE MODE (lockMode: 'SHARE' lets plain readers in); the snapshot is taken after
// the lock; CHECKPOINT (superuser or pg_checkpoint). The locks are released (COMMIT) when the
// read ends: rows() runs to its end or is abandoned via close(), or readPackedBuffers returns.
// lockTimeoutMs turns waiting for a writer into a LockTimeoutError.
//
// Files must be readable by the reading process: a cluster made with initdb --allow-group-access
// and a reader in the server's group (e.g. postgres); root is not needed.
//
// Speed (npm run bench:access, docs/direct-reader.md): packed x/y stored uncompressed (ALTER TABLE
// ... ALTER COLUMN x SET STORAGE EXTERNAL) are read straight into one arena and assembled in place;
// lz4 values are decoded by the reference C library (the lz4 package), on helper threads too when
// malloc's huge pages are off; pglz values by a JavaScript decoder. New memory is the floor: run the
// reading process with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (huge pages for large buffers;
// settable only at process start) to make it several times cheaper.
export {
  readTableDirect,
  openDirectRead,
  lockTable,
  type DirectRead,
  type DirectReadOptions,
  type LockedTable,
  type Row,
} from './reader.js';
export { readPackedBuffers, type PackedRow, type PackedReadOptions } from './packed.js';
export { emptyStats, type DirectReadStats } from './pages.js';
export { topologyResolver, type InstanceResolver, type Leaf } from './catalog.js';
export { LockTimeoutError, type LockMode } from './session.js';
export { DirectReadError } from './format.js';
export { VisibilityError } from './visibility.js';
export { UnsupportedTypeError, type Value, type BoundedArray } from './decode.js';
