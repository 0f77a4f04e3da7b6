// The cluster every suite shares: the embedded one with 2 segments (started by global-setup).
import { ensureCluster } from '../../src/db/cluster.js';
import type { Topology } from '../../src/db/topology.js';

export const TEST_SEGMENTS = 2;

let topology: Promise<Topology> | undefined;

export function testTopology(): Promise<Topology> {
  topology ??= ensureCluster({ segments: TEST_SEGMENTS });
  return topology;
}
