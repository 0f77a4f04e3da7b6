"""Data-parallel training (the `ddp` and `da-ddp` approaches; paper 3.3/5.1: PytorchDDP).

N engine worker processes, one per segment, each holding its segment's shard in memory, form a
torch.distributed process group (gloo on the CPU, nccl when every rank can have its own GPU)
over loopback and train ONE config at a time together: every rank runs the same number of
mini-batches over its own shard and every rank applies the same averaged gradient, so the
replicas stay identical (bit for bit: the reduced bytes are the same on every rank). Each rank
keeps every config's Trainer (model + Adam state) in memory between epochs: nothing is
checkpointed, nothing hops.

Two ways to average the gradients (`allreduce`, chosen when the group is formed):
  ddp   (default) the model is wrapped in torch.nn.parallel.DistributedDataParallel: gradients
        are bucketed (25 MB buckets, the first 1 MB) and each bucket is all-reduced as soon as
        backward has produced it, overlapping communication with the rest of backward. A
        communication hook (what DDP's default allreduce_hook does, plus counting) counts the
        bytes of every bucket and when its all-reduce was in flight.
  flat  after backward, the whole gradient (one flat tensor the parameters' .grad are views of)
        is summed with ONE blocking all_reduce and divided by the world size.
Batch norm running statistics are not broadcast before every forward (DDP's broadcast_buffers
is off in both modes): training normalises with batch statistics, so only evaluation reads the
running ones, and they are averaged over the ranks once per epoch, before anyone validates.

Communication is absorbed into training, as in the paper's DDP: the 'train' span of a rank
covers its whole epoch of the config, all-reduces included. What each rank hands to the
collectives is counted exactly and reported with each result (numel x element size per call).

The worker ops (bench_engine.worker) call into DdpState:
  ddp_init     -> DdpState(rank, world, ..., allreduce)  (every rank must be sent it concurrently)
  ddp_train    -> DdpState.train(config, seed, data, epoch)
  ddp_validate -> DdpState.validate(config, data)
  ddp_checksum -> DdpState.checksum(config)
  ddp_close    -> DdpState.close()
"""

import datetime
import hashlib
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from .models import architecture_key
from .runtime import device, synchronize
from .trainer import Batch, Trainer
from .util import now_ms

DEFAULT_TIMEOUT_SECONDS = 300
ALLREDUCE_MODES = ('ddp', 'flat')


def choose_backend(requested: Optional[str], world: int) -> str:
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
    if (dev.type == 'cuda' and dev.index is None and dist.is_nccl_available()
            and torch.cuda.device_count() >= int(world)):
        return 'nccl'
    return 'gloo'


def union_seconds(intervals: Sequence[Tuple[float, float]]) -> float:
    """The length of the union of (start, end) intervals."""
    total = 0.0
    covered = float('-inf')
    for start, end in sorted(intervals):
        if end > covered:
            total += end - max(start, covered)
            covered = end
    return total


class Meter:
    """Blocking all_reduce with exact accounting: bytes handed to it (numel x element size per
    call), calls, and wall seconds spent inside it (on CUDA the queued work is synchronised before
    and after, so the seconds are the collective's and not the backward pass's)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.calls = 0
        self.seconds = 0.0

    def all_reduce(self, tensor: torch.Tensor, op: dist.ReduceOp = dist.ReduceOp.SUM) -> torch.Tensor:
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


class HookMeter:
    """What the communication hook saw: the bytes of every gradient bucket it all-reduced, the
    number of buckets, and when each bucket's all-reduce was in flight (hook call to the future's
    completion: it overlaps the backward pass)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.calls = 0
        self.intervals: List[Tuple[float, float]] = []


def counting_allreduce_hook(meter: HookMeter, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """torch's default_hooks.allreduce_hook (divide the bucket by the world size, then sum it over
    the ranks: the mean), with the bucket's bytes and in-flight time counted in `meter` inside its
    one completion callback (a second Python callback per bucket would cost a thread hand-off)."""
    tensor = bucket.buffer()
    meter.bytes += tensor.numel() * tensor.element_size()
    meter.calls += 1
    start = time.perf_counter()
    tensor.div_(dist.get_world_size())

    def done(future: torch.futures.Future) -> torch.Tensor:
        meter.intervals.append((start, time.perf_counter()))
        return future.value()[0]

    return dist.all_reduce(tensor, async_op=True).get_future().then(done)


def _flat_grads(trainer: Trainer) -> torch.Tensor:
    """One flat gradient tensor whose slices are the parameters' .grad: backward accumulates
    into it in place, so the whole gradient is all-reduced by one call without copies."""
    flat = trainer.flat
    grad = torch.zeros_like(flat.params)
    for p, (offset, n) in zip(flat.params_list, flat.slices):
        p.grad = grad[offset:offset + n].view_as(p)
    return grad


def _state_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


class Replica:
    """One config's Trainer on this rank, wrapped for the group's all-reduce mode: in a
    DistributedDataParallel module with the counting hook (ddp), or given a flat gradient (flat)."""

    def __init__(self, trainer: Trainer, allreduce: str):
        self.trainer = trainer
        self.allreduce = allreduce
        self.grad: Optional[torch.Tensor] = None
        self.grad_checked = False
        self.hook = HookMeter()
        self.ddp: Optional[DistributedDataParallel] = None
        # Bytes the DDP constructor broadcasts from rank 0 (the parameters and buffers).
        self.broadcast_bytes = 0
        if allreduce == 'flat':
            self.grad = _flat_grads(trainer)
            return
        model = trainer.model
        on_cuda = next(model.parameters()).device.type == 'cuda'
        self.ddp = DistributedDataParallel(
            model,
            device_ids=[torch.cuda.current_device()] if on_cuda else None,
            broadcast_buffers=False,
            gradient_as_bucket_view=True,
        )
        self.ddp.register_comm_hook(self.hook, counting_allreduce_hook)
        self.broadcast_bytes = _state_bytes(model)

    def forward(self, xb: torch.Tensor) -> torch.Tensor:
        return self.ddp(xb) if self.ddp is not None else self.trainer.model(xb)

    def check_grad_views(self) -> None:
        """Autograd accumulates into an existing .grad in place; make sure it did (once)."""
        flat = self.trainer.flat
        base = self.grad.data_ptr()
        size = self.grad.element_size()
        for p, (offset, _) in zip(flat.params_list, flat.slices):
            if p.grad is None or p.grad.data_ptr() != base + offset * size:
                raise RuntimeError('autograd replaced a parameter gradient instead of accumulating '
                                   'into the flat gradient')
        self.grad_checked = True


def _batches(buffers: Sequence[Batch], batch_size: int) -> Iterator[Batch]:
    """The mini-batches of a shard in the engine's order: batchSize examples at a time inside
    each buffer (the last one of a buffer may be smaller), buffer after buffer."""
    for X, Y in buffers:
        n = int(X.shape[0])
        for i in range(0, n, batch_size):
            yield X[i:i + batch_size], Y[i:i + batch_size]


def _batch_count(buffers: Sequence[Batch], batch_size: int) -> int:
    return sum((int(X.shape[0]) + batch_size - 1) // batch_size for X, _ in buffers)


class DdpState:
    """This process's membership of the data-parallel group and its replicas, by config id."""

    def __init__(self, rank: int, world: int, master_port: int, master_addr: str = '127.0.0.1',
                 backend: Optional[str] = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 allreduce: str = 'ddp'):
        if dist.is_initialized():
            raise RuntimeError('this process is already in a process group (send ddp_close first)')
        if allreduce not in ALLREDUCE_MODES:
            raise ValueError('allreduce must be one of %s, not %r' % (', '.join(ALLREDUCE_MODES), allreduce))
        self.allreduce = allreduce
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
        self.control_device = (torch.device('cuda', torch.cuda.current_device()) if self.backend == 'nccl'
                               else torch.device('cpu'))
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
        self.replicas: Dict[int, Replica] = {}

    # -- replicas --------------------------------------------------------------------------

    def _replica(self, config: dict, data, seed: int, meter: Meter, spans: List[dict]) -> Tuple[Replica, bool]:
        """The config's replica, created (and checked, and wrapped) on its first epoch; True when
        it was created now."""
        key = int(config['id'])
        replica = self.replicas.get(key)
        if replica is not None:
            return replica, False
        start = now_ms()
        trainer = Trainer.create(config, data.input_shape, data.classes, seed)
        self._check_identical(key, trainer, seed, meter)
        replica = Replica(trainer, self.allreduce)
        self.replicas[key] = replica
        spans.append({'kind': 'engine-init', 'start': start, 'end': now_ms()})
        return replica, True

    def _check_identical(self, key: int, trainer: Trainer, seed: int, meter: Meter) -> None:
        """Same config and seed on every rank must give the same initial weights (DDP would
        silently copy rank 0's): compare cheap checksums with one all_reduce MAX of (s, -s),
        which yields the max and minus the min."""
        p = trainer.flat.params.detach().to(torch.float64)
        sums = torch.stack([p.sum(), (p * p).sum(), p[::7].sum()])
        both = torch.cat([sums, -sums]).to(self.control_device)
        meter.all_reduce(both, dist.ReduceOp.MAX)
        both = both.cpu()
        if not torch.equal(both[:3], -both[3:]):
            raise RuntimeError('the replicas of config %d differ across ranks after Trainer.create(seed=%s): '
                               'checksums max %s, min %s' % (key, seed, both[:3].tolist(), (-both[3:]).tolist()))

    def replica(self, config) -> Replica:
        key = int(config['id']) if isinstance(config, dict) else int(config)
        replica = self.replicas.get(key)
        if replica is None:
            raise ValueError('config %d has not been trained in this process group yet' % key)
        return replica

    # -- training --------------------------------------------------------------------------

    def train(self, config: dict, seed: int, data, epoch: Optional[int] = None) -> dict:
        """One epoch of config over this rank's shard, in lock step with the other ranks.

        Every rank must run the same number of optimizer steps (each one all-reduces), so the
        ranks agree on the smallest shard's mini-batch count with an all_reduce MIN first. What
        is dropped: on a rank whose shard has more mini-batches than the smallest shard, its
        last (local - agreed) mini-batches of the epoch are not trained (the same ones every
        epoch; shards are packed evenly, so this is at most a few mini-batches)."""
        # The replica check of a first epoch waits for the slowest rank to build its replica: its
        # bytes are control bytes, its seconds belong to the engine-init span, not to training.
        setup = Meter()
        spans: List[dict] = []
        replica, created = self._replica(config, data, seed, setup, spans)
        meter = Meter()
        trainer = replica.trainer
        if trainer.arch_key != architecture_key(config, data.input_shape, data.classes):
            raise ValueError('config %s does not fit its replica (%r)' % (config.get('id'), trainer.arch_key))
        start = now_ms()
        local = _batch_count(data.buffers, trainer.batch_size)
        agreed_t = torch.tensor([local], dtype=torch.int64, device=self.control_device)
        meter.all_reduce(agreed_t, dist.ReduceOp.MIN)
        agreed = int(agreed_t.item())

        hook_bytes, hook_calls, hook_intervals = replica.hook.bytes, replica.hook.calls, len(replica.hook.intervals)
        optimizer = trainer.optimizer
        flat_grad = replica.grad
        world = float(self.world)
        flat_bytes = 0
        trainer.model.train()
        losses = []
        sizes = []
        batches = _batches(data.buffers, trainer.batch_size)
        for _ in range(agreed):
            xb, yb = next(batches)
            for r in range(trainer.repeat):
                if flat_grad is not None:
                    flat_grad.zero_()
                else:
                    optimizer.zero_grad(set_to_none=False)  # the gradients are views of DDP's buckets
                loss = F.cross_entropy(replica.forward(xb), yb)
                loss.backward()  # ddp: each bucket is all-reduced as soon as it is ready
                if flat_grad is not None:
                    if not replica.grad_checked:
                        replica.check_grad_views()
                    before = meter.bytes
                    meter.all_reduce(flat_grad)  # sum over ranks...
                    flat_bytes += meter.bytes - before
                    flat_grad.div_(world)  # ...averaged: every rank steps with the same gradient
                optimizer.step()
                if r == 0:
                    losses.append(loss.detach())
                    sizes.append(int(xb.shape[0]))
        steps = agreed * trainer.repeat
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
        gradient_bytes = flat_bytes + replica.hook.bytes - hook_bytes
        hook_calls = replica.hook.calls - hook_calls
        in_flight = union_seconds(replica.hook.intervals[hook_intervals:])
        del replica.hook.intervals[hook_intervals:]
        control_bytes = setup.bytes + meter.bytes - flat_bytes
        return {
            'epoch': epoch,
            'lossSum': loss_sum,
            'examples': examples,
            'steps': steps,
            'batches': agreed,
            'localBatches': local,
            'droppedExamples': int(sum(int(X.shape[0]) for X, _ in data.buffers)) - examples,
            'allreduce': self.allreduce,
            'allreduceBytes': gradient_bytes + control_bytes,
            'gradientBytes': gradient_bytes,
            'controlBytes': control_bytes,
            'broadcastBytes': replica.broadcast_bytes if created else 0,
            'allreduceCalls': setup.calls + meter.calls + hook_calls,
            # ddp: one per bucket per step; flat: one per step.
            'gradientCalls': hook_calls if self.allreduce == 'ddp' else steps,
            'allreduceSeconds': meter.seconds + in_flight,
            'paramCount': int(trainer.flat.count),
            'backend': self.backend,
            'spans': spans,
        }

    def _average_buffers(self, trainer: Trainer, meter: Meter) -> None:
        """Batch norm running statistics are updated from each rank's own batches, so they
        drift apart; average the floating buffers over the ranks once per epoch (one
        all_reduce) so the replicas stay identical. Integer buffers (num_batches_tracked) are
        equal on every rank: every rank takes the same steps."""
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

    def validate(self, config: dict, data) -> dict:
        """Validate this rank's replica of config (any rank's is the same model)."""
        return self.replica(config).trainer.validate_buffers(data.buffers)

    def checksum(self, config) -> dict:
        """SHA-1 of the replica's weights, Adam moments and buffers (equal on every rank)."""
        trainer = self.replica(config).trainer
        flat = trainer.flat
        h = hashlib.sha1()
        for t in (flat.params, flat.exp_avg, flat.exp_avg_sq):
            h.update(t.detach().cpu().numpy().tobytes())
        for _, b in flat.buffers:
            h.update(b.detach().cpu().numpy().tobytes())
        return {'checksum': h.hexdigest(), 'steps': int(trainer.steps), 'paramCount': int(flat.count)}

    def close(self) -> None:
        self.replicas.clear()
        if dist.is_initialized():
            dist.destroy_process_group()
