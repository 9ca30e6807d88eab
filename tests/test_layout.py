"""The public imports stay where users find them, and data flows one way between the layers.

core (``leaky``) -> torch (``leaky.nn``, ``leaky.monitor``) -> lab (``leaky.lab``) -> cli
(``leaky.cli``): no module imports from a layer above its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "leaky"
LAYERS = {"core": 0, "torch": 1, "lab": 2, "cli": 3}


def test_the_public_imports_work() -> None:
    import leaky
    from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative
    from leaky.monitor import DeadUnitMonitor
    from leaky.nn import LeakyReLU, convert

    assert {"leaky_relu", "leaky_relu_backward", "leaky_relu_derivative"} <= set(leaky.__all__)
    assert callable(leaky_relu) and callable(leaky_relu_backward)
    assert callable(leaky_relu_derivative) and callable(convert)
    assert LeakyReLU(0.1).negative_slope == 0.1
    assert DeadUnitMonitor.__module__ == "leaky.monitor"


def test_import_leaky_imports_neither_the_lab_nor_the_cli() -> None:
    code = (
        "import sys, numpy, leaky; leaky.leaky_relu(numpy.ones(3), 0.1); "
        "print(sorted(m for m in sys.modules if m.startswith(('leaky.lab', 'leaky.cli', "
        "'leaky.nn', 'leaky.monitor', 'torch', 'matplotlib', 'rich', 'typer', 'optuna'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _layer(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "leaky" or len(parts) == 1:
        return LAYERS["core"]
    if parts[1] in ("nn", "monitor", "integrations"):
        return LAYERS["torch"]
    return LAYERS.get(parts[1], LAYERS["core"])


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "leaky"}


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_no_module_imports_from_a_layer_above_its_own(path: Path) -> None:
    module = ".".join(("leaky", *path.relative_to(SRC).with_suffix("").parts))
    module = module.removesuffix(".__init__")
    above = [name for name in _imports(path) if _layer(name) > _layer(module)]
    assert not above, f"{module} imports {above}"
