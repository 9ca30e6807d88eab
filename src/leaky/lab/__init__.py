"""The evidence: experiments, verdicts, figures, the report, the slope tuner, the benchmarks.

Needs the ``lab`` extra (``pip install 'leaky[lab]'``: PyTorch, scikit-learn, SciPy,
matplotlib, Optuna, ...); without it, importing any module here raises one
``MissingExtraError`` that says so. Nothing here is imported by ``import leaky``.

================  ==========================================================================
``data``          the data sets: bundled (scikit-learn's digits) or generated (spirals, blobs)
``training``      one training run of a small MLP, measured every epoch; grids of runs
``experiments``   born dead, stress, slope sweep, sparsity: each returns data, draws nothing
``claims``        the claims made for Leaky ReLU and the rules that give their verdicts
``plotting``      every figure (matplotlib)
``report``        run every experiment, judge every claim, write one report folder
``tune``          the negative slope tuned with Optuna (resumable; many workers)
``bench``         speed as ratios against references timed in the same process
================  ==========================================================================

Data flows one way: the core (``leaky``) -> ``leaky.nn`` / ``leaky.monitor`` -> ``leaky.lab``
-> ``leaky.cli``.
"""

from leaky._imports import LAB_MODULES, require

# Looked up here, imported where they are used (``import leaky.lab`` stays light).
require("leaky.lab", "lab", LAB_MODULES)
