// The unit of MOP work (docs/architecture.md, "Vocabulary").

/** One sub-epoch: a config trained once over one segment's shard. */
export interface Unit {
  config: number;
  segment: number;
  epoch: number;
}
