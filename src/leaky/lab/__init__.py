"""The evidence: experiments, verdicts, figures, the report, the slope tuner, the benchmarks.

Needs the ``lab`` extra (``pip install 'leaky[lab]'``: PyTorch, scikit-learn, SciPy,
matplotlib, Optuna, ...); without it, importing any module here raises one
``MissingExtraError`` that says so. Nothing here is imported by ``import leaky``.

==============  ============================================================================
``data``        the data sets: bundled (scikit-learn's digits) or generated (MNIST-1D, spirals,
                blobs); ``chance`` of each
``models``      the MNIST-1D paper's models (logistic, MLP, CNN, GRU), any activation
``batched``     many seeds of one configuration trained as one batched model
``experiments`` each claim's experiment: plan, tasks, summarize (data, never a figure)
``stats``       the statistical tests (SciPy), ``mean_interval``
``verdicts``    the claims' tests judged: supported / not supported / inconclusive
``claims``      the claims made for Leaky ReLU and the rules that give their verdicts
``harness``     our ReLU models against the MNIST-1D paper's Table 1
``plan``        which experiments a study runs at a scale (``plan.json``)
``store``       finished tasks, stored atomically and keyed by what they depend on
``runner``      the tasks run in this process, local processes or on a Dask cluster
``report``      run a study, judge every claim, write one report folder (``rerender``)
``render``      the report's Markdown and HTML (a Jinja2 template), from a ``Report``
``figures``     the report's figures; ``plotting``: the commands' figures
``outdir``      folders leaky owns (a marker file) and atomic writes
``compare``     the same statistics on the user's objective (``leaky compare``)
``tune``        the negative slope tuned with Optuna (resumable; many workers)
``bench``       speed as ratios against references timed in the same process
``docs``        the README's generated blocks, from the stored results
``progress``    progress bars and logs of long jobs (rich), never in the computation
==============  ============================================================================

Data flows one way: the core (``leaky``) -> ``leaky.nn`` / ``leaky.monitor`` -> ``leaky.lab``
-> ``leaky.cli``.
"""

from leaky._imports import LAB_MODULES, require

# Looked up here, imported where they are used (``import leaky.lab`` stays light).
require("leaky.lab", "lab", LAB_MODULES)
