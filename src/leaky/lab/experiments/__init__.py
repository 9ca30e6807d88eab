"""The experiments behind the evidence report; each returns plain data and draws nothing.

==============  =====================================================================
``born_dead``   P(network constant at initialisation) against depth and width
``stress``      ReLU against Leaky ReLU under high learning rates and a bias shock
``slopes``      test accuracy against the negative slope (the runs the next two share)
``sparsity``    exact zeros, negative regime and zero gradients per slope
``objectives``  built-in objectives for ``leaky.lab.tune`` (one training run each)
==============  =====================================================================

The verdict rules are in ``leaky.lab.claims``; one training run in ``leaky.lab.training``.
"""
