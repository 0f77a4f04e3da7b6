"""Data-parallel training (the `ddp` and `da-ddp` approaches; paper 3.3/5.1: PytorchDDP).

N engine worker processes, one per segment, each holding its segment's shard in memory, form a
torch.distributed process group (gloo on the CPU, nccl when every rank can have its own GPU)
over loopback and train ONE config at a time together: every rank runs the same number of
mini-batches over its own shard, and after each backward pass the gradients of all ranks are
summed with one flat all_reduce and divided by the world size, so every rank applies the same
averaged gradient and the replicas stay identical (bit for bit: the reduced bytes are the same
on every rank). Each rank keeps every config's Trainer (model + Adam state) in memory between
epochs: nothing is checkpointed, nothing hops.

Communication is absorbed into training, as in the paper's DDP: the 'train' span of a rank
covers its whole epoch of the config, all-reduce included. The bytes handed to all_reduce
(numel x element size per call, per rank) and the seconds spent inside all_reduce are counted
exactly and reported with each result.

The worker ops (bench_engine.worker) call into DdpState:
  ddp_init     -> DdpState(rank, world, ...)     (every rank must be sent it concurrently)
  ddp_train    -> DdpState.train(config, seed, data, epoch)
  ddp_validate -> DdpState.validate(config, data)
  ddp_checksum -> DdpState.checksum(config)
  ddp_close    -> DdpState.close()
"""

import datetime
import hashlib
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .models import architecture_key
from .runtime import device, synchronize
from .trainer import Trainer, now_ms

DEFAULT_TIMEOUT_SECONDS = 300


def choose_backend(requested, world):
    """nccl when CUDA is available and every rank can have a GPU of its own (NCCL refuses two
    ranks on one GPU), else gloo (which also reduces CUDA tensors, through the host)."""
    if requested:
        if requested not in ('gloo', 'nccl'):
            raise ValueError("backend must be 'gloo' or 'nccl', not %r" % (requested,))
        if requested == 'nccl' and not (torch.cuda.is_available() and dist.is_nccl_available()):
            raise ValueError('backend nccl needs CUDA and a torch built with NCCL')
        return requested
    dev = device()
    # A device forced with an index (BENCH_ENGINE_DEVICE=cuda:0) puts every rank on that GPU.
    if dev.type == 'cuda' and dev.index is None and dist.is_nccl_available() and torch.cuda.device_count() >= int(world):
        return 'nccl'
    return 'gloo'


class Meter:
    """all_reduce with exact accounting: bytes handed to it (numel x element size per call),
    calls, and wall seconds spent inside it (on CUDA the queued work is synchronised before and
    after, so the seconds are the collective's and not the backward pass's)."""

    def __init__(self):
        self.bytes = 0
        self.calls = 0
        self.seconds = 0.0

    def all_reduce(self, tensor, op=dist.ReduceOp.SUM):
        cuda = tensor.device.type == 'cuda'
        if cuda:
            torch.cuda.synchronize(tensor.device)
        start = time.perf_counter()
        dist.all_reduce(tensor, op=op)
        if cuda:
            torch.cuda.synchronize(tensor.device)
        self.seconds += time.perf_counter() - start
        self.bytes += tensor.numel() * tensor.element_size()
        self.calls += 1
        return tensor


def _flat_grads(trainer):
    """One flat gradient tensor whose slices are the parameters' .grad: backward accumulates
    into it in place, so the whole gradient is all-reduced by one call without copies."""
    flat = trainer.flat
    grad = torch.zeros_like(flat.params)
    for p, (offset, n) in zip(flat.params_list, flat.slices):
        p.grad = grad[offset:offset + n].view_as(p)
    return grad


class Replica:
    """One config's Trainer on this rank, with its flat gradient."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.grad = _flat_grads(trainer)
        self.grad_checked = False

    def check_grad_views(self):
        """Autograd accumulates into an existing .grad in place; make sure it did (once)."""
        flat = self.trainer.flat
        base = self.grad.data_ptr()
        size = self.grad.element_size()
        for p, (offset, _) in zip(flat.params_list, flat.slices):
            if p.grad is None or p.grad.data_ptr() != base + offset * size:
                raise RuntimeError('autograd replaced a parameter gradient instead of accumulating into the flat gradient')
        self.grad_checked = True


def _batches(buffers, batch_size):
    """The mini-batches of a shard in the engine's order: batchSize examples at a time inside
    each buffer (the last one of a buffer may be smaller), buffer after buffer."""
    for X, Y in buffers:
        n = int(X.shape[0])
        for i in range(0, n, batch_size):
            yield X[i:i + batch_size], Y[i:i + batch_size]


def _batch_count(buffers, batch_size):
    return sum((int(X.shape[0]) + batch_size - 1) // batch_size for X, _ in buffers)


class DdpState:
    """This process's membership of the data-parallel group and its replicas, by config id."""

    def __init__(self, rank, world, master_port, master_addr='127.0.0.1', backend=None,
                 timeout_seconds=DEFAULT_TIMEOUT_SECONDS):
        if dist.is_initialized():
            raise RuntimeError('this process is already in a process group (send ddp_close first)')
        self.rank = int(rank)
        self.world = int(world)
        if not 0 <= self.rank < self.world:
            raise ValueError('rank %d is not in a world of %d' % (self.rank, self.world))
        self.backend = choose_backend(backend, self.world)
        self.device = device()
        if self.backend == 'nccl':
            # One GPU per rank. torch.device('cuda') (runtime.device()) means the current
            # device, so everything allocated from now on lands on this rank's GPU: send
            # ddp_init before loading data.
            torch.cuda.set_device(self.rank % torch.cuda.device_count())
        # Small control tensors (batch agreement, checksums): where the backend reduces them.
        self.control_device = torch.device('cuda', torch.cuda.current_device()) if self.backend == 'nccl' else torch.device('cpu')
        self.timeout_seconds = float(timeout_seconds)
        start = time.perf_counter()
        # The timeout bounds the rendezvous and every collective: a rank that stops answering
        # fails its peers' calls instead of hanging them (a rank that dies closes its sockets,
        # which gloo reports at once).
        dist.init_process_group(
            self.backend,
            init_method='tcp://%s:%d' % (master_addr, int(master_port)),
            rank=self.rank,
            world_size=self.world,
            timeout=datetime.timedelta(seconds=self.timeout_seconds),
        )
        self.init_seconds = time.perf_counter() - start
        self.replicas = {}

    # -- replicas --------------------------------------------------------------------------

    def _replica(self, config, data, seed, meter, spans):
        key = int(config['id'])
        replica = self.replicas.get(key)
        if replica is not None:
            return replica
        start = now_ms()
        trainer = Trainer.create(config, data.input_shape, data.classes, seed)
        replica = Replica(trainer)
        self._check_identical(key, trainer, seed, meter)
        self.replicas[key] = replica
        spans.append({'kind': 'engine-init', 'start': start, 'end': now_ms()})
        return replica

    def _check_identical(self, key, trainer, seed, meter):
        """Same config and seed on every rank must give the same initial weights: compare cheap
        checksums with one all_reduce MAX of (s, -s), which yields the max and minus the min."""
        p = trainer.flat.params.detach().to(torch.float64)
        sums = torch.stack([p.sum(), (p * p).sum(), p[::7].sum()])
        both = torch.cat([sums, -sums]).to(self.control_device)
        meter.all_reduce(both, dist.ReduceOp.MAX)
        both = both.cpu()
        if not torch.equal(both[:3], -both[3:]):
            raise RuntimeError('the replicas of config %d differ across ranks after Trainer.create(seed=%s): '
                               'checksums max %s, min %s' % (key, seed, both[:3].tolist(), (-both[3:]).tolist()))

    def replica(self, config):
        key = int(config['id']) if isinstance(config, dict) else int(config)
        replica = self.replicas.get(key)
        if replica is None:
            raise ValueError('config %d has not been trained in this process group yet' % key)
        return replica

    # -- training --------------------------------------------------------------------------

    def train(self, config, seed, data, epoch=None):
        """One epoch of config over this rank's shard, in lock step with the other ranks.

        Every rank must run the same number of optimizer steps (each one all-reduces), so the
        ranks agree on the smallest shard's mini-batch count with an all_reduce MIN first. What
        is dropped: on a rank whose shard has more mini-batches than the smallest shard, its
        last (local - agreed) mini-batches of the epoch are not trained (the same ones every
        epoch; shards are packed evenly, so this is at most a few mini-batches)."""
        meter = Meter()
        spans = []
        replica = self._replica(config, data, seed, meter, spans)
        trainer = replica.trainer
        if trainer.arch_key != architecture_key(config, data.input_shape, data.classes):
            raise ValueError('config %s does not fit its replica (%r)' % (config.get('id'), trainer.arch_key))
        start = now_ms()
        control_bytes = meter.bytes
        local = _batch_count(data.buffers, trainer.batch_size)
        agreed_t = torch.tensor([local], dtype=torch.int64, device=self.control_device)
        meter.all_reduce(agreed_t, dist.ReduceOp.MIN)
        agreed = int(agreed_t.item())

        model = trainer.model
        optimizer = trainer.optimizer
        grad = replica.grad
        world = float(self.world)
        repeat = trainer.repeat
        model.train()
        losses = []
        sizes = []
        steps = 0
        gradient_bytes = 0
        batches = _batches(data.buffers, trainer.batch_size)
        for _ in range(agreed):
            xb, yb = next(batches)
            for r in range(repeat):
                grad.zero_()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                if not replica.grad_checked:
                    replica.check_grad_views()
                before = meter.bytes
                meter.all_reduce(grad)  # sum over ranks...
                gradient_bytes += meter.bytes - before
                grad.div_(world)  # ...averaged: every rank steps with the same gradient
                optimizer.step()
                if r == 0:
                    losses.append(loss.detach())
                    sizes.append(int(xb.shape[0]))
            steps += repeat
        trainer.steps += steps
        self._average_buffers(trainer, meter)
        synchronize()
        end = now_ms()
        spans.append({'kind': 'train', 'start': start, 'end': end})
        if losses:
            weights = torch.tensor(sizes, dtype=torch.float64)
            loss_sum = float((torch.stack(losses).to('cpu', torch.float64) * weights).sum())
        else:
            loss_sum = 0.0
        examples = int(sum(sizes))
        return {
            'epoch': epoch,
            'lossSum': loss_sum,
            'examples': examples,
            'steps': steps,
            'batches': agreed,
            'localBatches': local,
            'droppedExamples': int(sum(int(X.shape[0]) for X, _ in data.buffers)) - examples,
            'allreduceBytes': meter.bytes,
            'gradientBytes': gradient_bytes,
            'controlBytes': meter.bytes - gradient_bytes,
            'allreduceCalls': meter.calls,
            'allreduceSeconds': meter.seconds,
            'paramCount': int(trainer.flat.count),
            'backend': self.backend,
            'spans': spans,
        }

    def _average_buffers(self, trainer, meter):
        """Batch norm running statistics are updated from each rank's own batches, so they
        drift apart; average the floating buffers over the ranks once per epoch (one
        all_reduce) so the replicas stay identical. (torch's DDP broadcasts rank 0's instead;
        training itself is unaffected: train mode normalises with batch statistics.) Integer
        buffers (num_batches_tracked) are equal on every rank: every rank takes the same steps."""
        floats = [b for _, b in trainer.flat.buffers if b.is_floating_point()]
        if not floats:
            return
        flat = torch.cat([b.detach().reshape(-1) for b in floats])
        meter.all_reduce(flat)
        flat.div_(float(self.world))
        offset = 0
        with torch.no_grad():
            for b in floats:
                n = b.numel()
                b.copy_(flat[offset:offset + n].view_as(b))
                offset += n

    # -- validation and inspection -----------------------------------------------------------

    def validate(self, config, data):
        """Validate this rank's replica of config (any rank's is the same model)."""
        return self.replica(config).trainer.validate_buffers(data.buffers)

    def checksum(self, config):
        """SHA-1 of the replica's weights, Adam moments and buffers (equal on every rank)."""
        trainer = self.replica(config).trainer
        flat = trainer.flat
        h = hashlib.sha1()
        for t in (flat.params, flat.exp_avg, flat.exp_avg_sq):
            h.update(t.detach().cpu().numpy().tobytes())
        for _, b in flat.buffers:
            h.update(b.detach().cpu().numpy().tobytes())
        return {'checksum': h.hexdigest(), 'steps': int(trainer.steps), 'paramCount': int(flat.count)}

    def close(self):
        self.replicas.clear()
        if dist.is_initialized():
            dist.destroy_process_group()
