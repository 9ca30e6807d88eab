"""Find dead, near-dead, dormant and negative-regime units while a PyTorch model trains.

``DeadUnitMonitor`` watches every activation site of a model — activation layers
(``nn.ReLU``, ``nn.GELU``, leaky's ``LeakyReLU``, ...) and functional calls made inside the
model's forward (``F.relu``, ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.gelu``,
...) — and streams exact per-unit counts over every sample it sees (a *window*: the whole
data set by default, never silently one batch), in O(units) memory: it never keeps an
activation, and on CPU it counts in one pass over the activation without any full-size
temporary.

Definitions, per unit, over the window (``n`` = elements seen by the unit: batch x
positions; ``h`` = the activation's output, ``x`` = its input):

- **positive count** ``P``: inputs with ``x > 0`` (read on the output where the activation
  keeps the sign, on the input where it does not: ``Softplus``, ``PReLU``, ``RReLU``, a
  negative slope or ``alpha``).
- **non-finite**: the unit's output was NaN or ±inf at least once. Such a unit is reported
  as non-finite and **never** as dead, near-dead or dormant: the model diverged or was fed
  NaN, and that is what the report says.
- **dead** (ReLU-like activations): ``P == 0``: ReLU's output and gradient were 0 for every
  input, the unit cannot learn.
- **negative-regime** (Leaky ReLU and smooth activations): ``P == 0`` under an activation
  that still passes a gradient (scaled by the slope): alive, reported apart from the dead.
- **near-dead**: ``0 < P < near_dead * n`` (positive on fewer than 1 % of the inputs by
  default); the dead are not repeated here.
- **dormant (tau)**: ``s_i <= tau`` with the dormancy score ``s_i = mean(h_i⁺) /
  mean_j(mean(h_j⁺))``, where ``h⁺ = max(h, 0)`` is the positive part of the output and
  ``j`` runs over the layer's finite units. This is Sokar et al. (2023, "The Dormant
  Neuron Phenomenon in Deep Reinforcement Learning") on the *positive part*: their
  ``mean |h|`` would count Leaky's negative outputs as activity (a shocked Leaky network,
  off on 99 % of its inputs, scored 0 % dormant), so it could not be compared across
  activations. ``tau = 0.025`` by default (a threshold Sokar et al. use); ``tau = 0``
  leaves only the units that were never positive.
- **exact-zero fraction**: the fraction of output elements that are exactly 0.

The unit is decided from the layer that made the activation's input where the monitor
knows it: a channel (dim 1) after a convolution, a batch norm or a 1-d pooling layer
(a Conv1d's (N, C, L) counts its C channels, not its positions). A bare activation (its
input made by a Linear, or by code the monitor does not hook: ``F.conv1d``, a reshape)
counts the last axis of 1-d to 3-d tensors (a Linear's (N, F) and (N, L, F)) and dim 1
of 4-d and 5-d tensors; ``unit_dim`` overrides both. Each site's report says which
(``LayerReport.unit``: "feature" or "channel", and ``unit_dim``).

The monitor follows torchmetrics' ``Metric`` and ``torch.ao.quantization``'s observers:
``report()`` (alias ``compute()``), ``reset()``, ``state_dict()``/``load_state_dict()``
(exact integer counts, so a checkpointed and resumed run reports what an uninterrupted
one does), counts summed across processes under ``torch.distributed`` (``report()`` on
every rank describes the whole data set), ``pause()``, and batches run in ``eval()`` mode
are skipped unless ``count_eval=True``.

Acting on a report: ``revive`` (ReDo, Sokar et al. 2023). Logging it:
``to_tensorboard``; ``leaky.integrations.lightning.DeadUnitCallback`` for Lightning.

The package, one room per concern: ``_kinds`` (what counts as an activation and where its
sign is read), ``_counting`` (the one-pass exact counts; its numba loops in ``_loops``,
cached on disk), ``_sites`` (hooked layers and intercepted functional calls), ``_report``
(the reports, TensorBoard), ``_monitor`` (``DeadUnitMonitor``, ``diagnose``) and
``_revive``.
"""

# The kinds of activation the monitor finds by itself (module constants, as before the split).
from leaky._imports import require

require("leaky.monitor", "torch", ("torch",))  # one line naming the extra

from leaky.integrations.tensorboard import to_tensorboard
from leaky.monitor._kinds import ACTIVATIONS as ACTIVATIONS
from leaky.monitor._kinds import LEAKY_LIKE as LEAKY_LIKE
from leaky.monitor._kinds import RELU_LIKE as RELU_LIKE
from leaky.monitor._kinds import SMOOTH as SMOOTH
from leaky.monitor._monitor import DeadUnitMonitor, diagnose
from leaky.monitor._report import LayerReport, MonitorReport
from leaky.monitor._revive import revive

__all__ = [
    "DeadUnitMonitor",
    "LayerReport",
    "MonitorReport",
    "diagnose",
    "revive",
    "to_tensorboard",
]

for _public in (DeadUnitMonitor, LayerReport, MonitorReport, diagnose, revive, to_tensorboard):
    _public.__module__ = __name__  # documented, pickled and shown as leaky.monitor.X
del _public
