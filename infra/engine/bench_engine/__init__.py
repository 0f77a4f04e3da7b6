"""bench_engine: the one deep learning engine every approach trains with.

Used in two places with identical code, so the comparison between approaches is fair:
inside PostgreSQL through PL/Python (the in-DBMS approaches) and in long-lived worker
processes (`python3 -m bench_engine.worker`, the out-of-DBMS approaches).

Modules: models (architectures), trainer (Trainer, decode, checkpoints), runtime (threads,
device), worker (framed stdin/stdout protocol), rawloop (the raw engine loop benchmark),
frames (the binary framing shared by the worker and the data file).

This file imports nothing heavy: `import torch` costs 1.7-2.6 s and is paid only by the
modules that need it.
"""

__version__ = '1'
CHECKPOINT_FORMAT = 'bench-engine-checkpoint'
CHECKPOINT_VERSION = 2
DATA_FORMAT = 'bench-engine-data'
DATA_VERSION = 1
