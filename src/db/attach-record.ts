// What `bench db attach` created or changed on an instance, kept in that database (docs/attach.md,
// "What attach records"): `bench db detach` removes exactly these and puts back what they replaced.
import type pg from 'pg';

export const RECORD_TABLE = 'bench_attachment';

export type RecordKind =
  /** attach created the database (detach drops it last). */
  | 'database'
  /** attach created the extension `name`. */
  | 'extension'
  /** attach created the foreign server `name` / the current user's mapping to it. */
  | 'server'
  | 'mapping'
  /** attach changed the options of a server / mapping it did not create; detail.before restores them. */
  | 'server-options'
  | 'mapping-options'
  /** attach set the setting `name` for detail.role in this database; detail.before is what it was (null: unset). */
  | 'setting'
  /** Which bench installed what, when (read by `check`). */
  | 'installed'
  /** On the coordinator: the segments attached (URLs without passwords). */
  | 'layout';

export interface RecordRow {
  id: number;
  kind: RecordKind;
  name: string;
  detail: Record<string, unknown>;
  at: string;
}

export async function recordExists(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
    `public.${RECORD_TABLE}`,
  ]);
  return rows[0].ok;
}

export async function ensureRecordTable(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS public.${RECORD_TABLE} (
      id serial PRIMARY KEY, kind text NOT NULL, name text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}', at timestamptz NOT NULL DEFAULT now())`);
  await client.query(
    `COMMENT ON TABLE public.${RECORD_TABLE} IS 'bench db attach: what it created here; bench db detach removes ` +
      `exactly that'`,
  );
}

export async function readRecord(client: pg.Client): Promise<RecordRow[]> {
  if (!(await recordExists(client))) return [];
  const { rows } = await client.query<RecordRow>(
    `SELECT id, kind, name, detail, at::text AS at FROM public.${RECORD_TABLE} ORDER BY id`,
  );
  return rows;
}

export async function addRecord(
  client: pg.Client,
  kind: RecordKind,
  name: string,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await client.query(`INSERT INTO public.${RECORD_TABLE} (kind, name, detail) VALUES ($1, $2, $3)`, [
    kind,
    name,
    JSON.stringify(detail),
  ]);
}

export function recorded(rows: RecordRow[], kind: RecordKind, name: string): RecordRow | undefined {
  return rows.find((r) => r.kind === kind && r.name === name);
}
