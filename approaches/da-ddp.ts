// DA-DDP (paper 3.3, 5.1: DA-PytorchDDP): the data-parallel approach fed by the direct reader:
// every rank reads its segment's partition from that instance's files, no copy is written.
import { NO_COPIES } from '../src/core/approach.js';
import { ddpApproach } from './ddp.js';
import { checkDirectAccess, directSources } from './da.js';

export const daDdp = ddpApproach({
  id: 'da-ddp',
  title: "Data parallel fed by the direct reader: each rank reads its partition's heap and TOAST files",
  dataAccess: "direct read of the partition's heap and TOAST files",
  sources: async (ctx, trainTable, validTable) => ({
    sources: directSources(ctx, trainTable, validTable),
    copies: NO_COPIES,
  }),
  check: checkDirectAccess,
});
