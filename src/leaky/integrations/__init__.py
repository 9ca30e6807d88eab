"""Where PyTorch users log and train: leaky's monitor in their tools.

- ``leaky.integrations.tensorboard``: ``to_tensorboard(writer, report, step)`` writes a
  ``MonitorReport`` to a ``torch.utils.tensorboard.SummaryWriter`` (also reachable as
  ``leaky.monitor.to_tensorboard``).
- ``leaky.integrations.lightning``: ``DeadUnitCallback``, a Lightning ``Callback``.

Nothing here is imported by ``import leaky`` or ``import leaky.monitor``; each module
imports its package when it is imported, and a missing one is a one-line
``ImportError`` that says what to install.
"""
