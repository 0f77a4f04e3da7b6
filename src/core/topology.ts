// Where the coordinator and the segment instances listen (docs/architecture.md, "Cluster").

export interface Instance {
  /** 'coordinator' or 'seg0', 'seg1', ... */
  name: string;
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** Data directory, known only for instances this machine runs (the embedded cluster). */
  dataDir?: string;
}

export interface Topology {
  coordinator: Instance;
  segments: Instance[];
  /** True when `bench db up` made it (under .bench/pg); false for --db / PG* connections. */
  embedded: boolean;
}
