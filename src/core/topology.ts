// Where the coordinator and the segment instances listen (docs/architecture.md, "Cluster").

/** libpq connection parameters bench honours besides host/port/user/database (docs/attach.md). */
export interface ConnectionParams {
  sslmode?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
}

export interface Instance {
  /** 'coordinator' or 'seg0', 'seg1', ... */
  name: string;
  host: string;
  port: number;
  user: string;
  database: string;
  /**
   * Given explicitly (a URL's password, a user mapping's); otherwise looked up when connecting
   * (src/db/credentials.ts).
   */
  password?: string;
  /** A password file bench owns for this instance (the embedded cluster's), read before anything else. */
  passfile?: string;
  params?: ConnectionParams;
  /** Data directory, known only for instances this machine runs (the embedded cluster). */
  dataDir?: string;
}

export interface Topology {
  coordinator: Instance;
  segments: Instance[];
  /** True when `bench db up` made it (under .bench/pg); false for --db / PG* connections. */
  embedded: boolean;
}
