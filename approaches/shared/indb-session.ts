// The connections an in-DBMS run trains through, opened and warmed in the start-up phase: one
// coordinator connection (udaf, ma) or one per segment (ctq), whose postgres_fdw connections to the
// segments are the backends that train, each importing the engine once, here, before execution;
// and direct connections to the segments for model hops and broadcasts, used one operation at a
// time, also opened here (a connection's first use costs 10-15 ms: authentication, the table's
// catalog entries, the durable-commit trigger's compilation), so that execution does not pay it.
import type pg from 'pg';
import type { RunContext } from '../../src/core/approach.js';
import { connect, ident } from '../../src/db/connect.js';
import { nameDeadInstances } from '../../src/db/distributed.js';
import {
  assertPushedDown,
  emitEngineSpans,
  stepStatement,
  type EngineSpan,
  type StepRow,
  type Task,
} from '../../src/engine/indb.js';
import { parseHeader } from '../../src/engine/protocol.js';
import type { SegmentClients } from './models-table.js';

/** A direct connection's job: `out` reads and writes a segment's rows, `in` receives hopped copies. */
export type DirectRole = 'out' | 'in';

export interface SessionOptions {
  /** One coordinator connection for the whole run, or one per segment (ctq's concurrent targeted queries). */
  connections: 'one' | 'perSegment';
  /** The run's warm-up view (createWarmView). */
  warmView: string;
  meta: string;
  /**
   * Also open a second coordinator connection whose own backend imports the engine: ma averages
   * one config's models there while the next config's statement runs on the first.
   */
  averager: boolean;
  /** Direct connections to open on every segment before execution, and the models table they write. */
  direct: { roles: readonly DirectRole[]; table?: string };
  /** The run's step views: their statements' plans are checked (assertPushedDown) here, before execution. */
  stepViews: readonly string[];
}

export class IndbSession {
  private readonly direct = new Map<string, pg.Client>();
  private readonly ended = new WeakSet<pg.Client>();
  private averagerClient: pg.Client | undefined;
  private directQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly ctx: RunContext,
    private readonly coordinators: pg.Client[],
    private readonly options: SessionOptions,
  ) {
    for (const client of coordinators) this.watch(client);
  }

  /** Open the connections and warm every segment backend (and the averager's when asked). */
  static async open(ctx: RunContext, options: SessionOptions): Promise<IndbSession> {
    const count = options.connections === 'one' ? 1 : ctx.topology.segments.length;
    const clients: pg.Client[] = [];
    let session: IndbSession | undefined;
    try {
      for (let i = 0; i < count; i++)
        clients.push(await connect(ctx.topology.coordinator, coordinatorConnectionName(i, count)));
      session = new IndbSession(ctx, clients, options);
      await session.warm();
      await session.checkPlans();
      return session;
    } catch (error) {
      await (session ? session.close() : Promise.all(clients.map((c) => c.end().catch(() => undefined))));
      throw await nameDeadInstances(ctx.topology, error);
    }
  }

  private async warm(): Promise<void> {
    const view = this.options.warmView;
    const warmed = await Promise.all(
      this.coordinators.map(async (client, i) => {
        const sql =
          this.coordinators.length === 1
            ? `SELECT seg, result FROM ${view}`
            : `SELECT seg, result FROM ${view} WHERE seg = ${i}`;
        return (await client.query<{ seg: number; result: string }>(sql)).rows;
      }),
    );
    for (const row of warmed.flat())
      emitEngineSpans(this.ctx, parseHeader<{ spans: EngineSpan[] }>(row.result).spans, { segment: row.seg });
    if (this.options.averager) await this.averager();
    const { roles, table } = this.options.direct;
    const opened = this.ctx.topology.segments.flatMap((_, segment) =>
      roles.map((role) => this.segmentClient(segment, role)),
    );
    await Promise.all(
      opened.map(async (pending) => {
        const client = await pending;
        // An update of no rows: loads the table's catalog entries and fires (compiles) its statement
        // trigger; no transaction id, nothing written.
        if (table) await client.query(`UPDATE ${ident(table)} SET version = version WHERE false`);
      }),
    );
  }

  /**
   * Check each step view's plan once, on a statement shaped like execution's: every segment's task
   * in one statement (one coordinator connection), or one segment's (one connection per segment).
   */
  private async checkPlans(): Promise<void> {
    const segments = this.coordinators.length === 1 ? this.ctx.topology.segments.map((_, segment) => segment) : [0];
    const tasks = segments.map((segment) => ({ segment, config: 0, version: 0 }));
    for (const view of this.options.stepViews) {
      await assertPushedDown(this.coordinators[0], stepStatement(view, tasks), segments.length);
    }
  }

  /**
   * The coordinator connection for a segment's work (ctq: its own; udaf, ma: the one). A
   * connection that ended (its backend died) is replaced; the new one imports the engine on use.
   */
  async coordinator(segment = 0): Promise<pg.Client> {
    const index = this.coordinators.length === 1 ? 0 : segment;
    const client = this.coordinators[index];
    if (this.ended.has(client)) {
      const name = coordinatorConnectionName(index, this.coordinators.length);
      this.coordinators[index] = await this.reconnect(client, name);
    }
    return this.coordinators[index];
  }

  /**
   * The averager's coordinator connection (SessionOptions.averager), its backend warmed: opened in
   * start-up, and again only if its backend died.
   */
  async averager(): Promise<pg.Client> {
    if (!this.options.averager) throw new Error('this session has no averager connection');
    const name = 'bench-indb-average';
    if (this.averagerClient && !this.ended.has(this.averagerClient)) return this.averagerClient;
    const client = this.averagerClient
      ? await this.reconnect(this.averagerClient, name)
      : this.watch(await connect(this.ctx.topology.coordinator, name));
    this.averagerClient = client;
    const { rows } = await client.query<{ result: string }>('SELECT bench_engine_warm($1::json) AS result', [
      this.options.meta,
    ]);
    emitEngineSpans(this.ctx, parseHeader<{ spans: EngineSpan[] }>(rows[0].result).spans, {});
    return client;
  }

  /** A new coordinator connection named `name` in place of `broken`, whose backend died. */
  private async reconnect(broken: pg.Client, name: string): Promise<pg.Client> {
    await broken.end().catch(() => undefined);
    this.ctx.log(`coordinator connection ${name} broke; reconnecting`);
    return this.watch(await connect(this.ctx.topology.coordinator, name));
  }

  private watch(client: pg.Client): pg.Client {
    client.once('end', () => this.ended.add(client));
    client.once('error', () => this.ended.add(client));
    return client;
  }

  /**
   * Run tasks through one of the run's step views on a coordinator connection (their plans were
   * checked in start-up); a failure names the instances that are down.
   */
  async step(client: pg.Client, view: string, tasks: readonly Task[]): Promise<StepRow[]> {
    if (!this.options.stepViews.includes(view)) throw new Error(`${view} is not one of this run's step views`);
    return this.query<StepRow>(client, stepStatement(view, tasks));
  }

  /** Run a statement on a coordinator connection; a failure names the instances that are down. */
  async query<R extends pg.QueryResultRow>(client: pg.Client, sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (error) {
      throw await nameDeadInstances(this.ctx.topology, error);
    }
  }

  /**
   * Work over direct connections to the segments (hops, copies), one piece of work at a time: two
   * COPY pipelines sharing connections in opposite directions would wait on each other.
   */
  async directly<T>(work: (segment: SegmentClients) => Promise<T>): Promise<T> {
    const run = this.directQueue.then(() => work((i, role = 'out') => this.segmentClient(i, role)));
    this.directQueue = run.catch(() => undefined);
    try {
      return await run;
    } catch (error) {
      await Promise.all([...this.direct.values()].map((c) => c.end().catch(() => undefined)));
      this.direct.clear();
      throw await nameDeadInstances(this.ctx.topology, error);
    }
  }

  /** Work on the coordinator connection (with everySegment, a TableAccess for execution's recovery read). */
  async onCoordinator<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    return work(await this.coordinator());
  }

  /** Work on every segment at once over the direct 'out' connections. */
  everySegment<T>(work: (client: pg.Client, segment: number) => Promise<T>): Promise<T[]> {
    return this.directly((segment) =>
      Promise.all(this.ctx.topology.segments.map(async (_, i) => work(await segment(i), i))),
    );
  }

  private async segmentClient(segment: number, role: DirectRole): Promise<pg.Client> {
    const key = `${segment}/${role}`;
    let client = this.direct.get(key);
    if (!client) {
      client = await connect(this.ctx.topology.segments[segment], `bench-indb-${role}`);
      this.direct.set(key, client);
    }
    return client;
  }

  async close(): Promise<void> {
    const clients = [
      ...this.coordinators,
      ...this.direct.values(),
      ...(this.averagerClient ? [this.averagerClient] : []),
    ];
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    this.direct.clear();
    this.averagerClient = undefined;
  }
}

/** The application name of coordinator connection `index` of `count` (pg_stat_activity shows it). */
function coordinatorConnectionName(index: number, count: number): string {
  return count === 1 ? 'bench-indb' : `bench-indb-seg${index}`;
}
