"""The experiments behind the evidence report; each plans tasks, summarises, draws nothing.

==============  =====================================================================
``harness``     is the harness sound? The MNIST-1D paper's Table 1 with ReLU
``born_dead``   claim 2a: deep, narrow networks at initialisation (constant? trainable?)
``dying``       claim 2b: units that die during training, with and without a bias shock
``slopes``      claims 5 and 3b: the slope on MNIST-1D (accuracy, sparsity), controls
``stability``   claim 4: failures against the learning rate, per activation
``objectives``  built-in objectives for ``leaky tune`` and ``leaky compare``
==============  =====================================================================

Every experiment module has the same shape: ``NAME`` and ``TITLE``; a frozen ``Config``
with ``to_dict``/``from_dict`` and ``plan(scale, seed)`` that makes one per scale
(``quick``, ``standard``, ``full``); ``tasks(config)``, the units of work for
``leaky.lab.runner`` (most train all seeds of one configuration as one batched model,
``leaky.lab.batched.train``); and ``summarize(config, outcomes)``, a typed ``Result`` with
``to_dict``/``from_dict`` built from the stored outcomes alone (a failed task becomes a
failed cell, never a traceback). The verdict rules are in ``leaky.lab.claims``; the
statistics in ``leaky.lab.stats``; the figures in ``leaky.lab.figures``.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def record(row: Any) -> dict[str, Any]:
    """A frozen result row (a dataclass of numbers, strings and tuples) as JSON types."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(row).items()}
