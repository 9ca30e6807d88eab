"""Where PyTorch users log and train: leaky's monitor in their tools.

- ``leaky.integrations.tensorboard``: ``to_tensorboard(writer, report, step)`` writes a
  ``MonitorReport`` to a ``torch.utils.tensorboard.SummaryWriter`` (also reachable as
  ``leaky.monitor.to_tensorboard``).
- ``leaky.integrations.lightning``: ``DeadUnitCallback``, a Lightning ``Callback``.

``import leaky`` imports nothing here; ``import leaky.monitor`` imports only
``leaky.integrations.tensorboard`` (the one ``to_tensorboard``), which needs no TensorBoard
until it writes. ``leaky.integrations.lightning`` imports Lightning when it is imported; a
missing package is a one-line ``ImportError`` that says what to install.
"""
