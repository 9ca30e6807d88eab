"""The README's "In your training loop" examples that tests/test_readme.py cannot run
in-process: the Lightning one (Lightning's own warnings filtered) and the DDP one (in two
processes). Together with tests/test_readme.py, every ```python block of the README runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCES = re.findall(r"```python([^\n]*)\n(.*?)```", README.read_text(), flags=re.S)
TAGGED = {tag.strip(): code for tag, code in FENCES if tag.strip()}


def test_every_python_block_of_the_readme_is_run_by_a_test() -> None:
    tags = [tag.strip() for tag, _ in FENCES]
    assert set(tags) == {"", "lightning-example", "ddp-example"}  # "": tests/test_readme.py
    assert tags.count("lightning-example") == 1 and tags.count("ddp-example") == 1


# Lightning 2.6 on torch 2.13 warns about torch's deprecated pytree API inside Lightning.
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
def test_readme_lightning_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(TAGGED["lightning-example"], "README.md[lightning-example]", "exec"), namespace)
    out = capsys.readouterr().out
    assert "model: 0 of 32 units dead" in out and "over 8 batch(es)" in out
    assert len(namespace["callback"].reports) == 2  # type: ignore[attr-defined]


RUNNER = """
import json, os, runpy, socket, sys
import torch.multiprocessing as mp
sys.path.insert(0, {folder!r})
import ddp_example


def run(rank, world_size, out):
    report = ddp_example.train(rank, world_size)
    with open(os.path.join(out, f"{{rank}}-{{world_size}}.json"), "w") as f:
        json.dump(report.to_dict(), f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


if __name__ == "__main__":
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=free_port())
    mp.spawn(run, args=(2, {folder!r}), nprocs=2, join=True)
    os.environ["MASTER_PORT"] = free_port()
    run(0, 1, {folder!r})
    runpy.run_path(os.path.join({folder!r}, "ddp_example.py"), run_name="__main__")
"""


def test_readme_ddp_example_runs_in_two_processes(tmp_path: Path) -> None:
    (tmp_path / "ddp_example.py").write_text(TAGGED["ddp-example"])
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER.format(folder=str(tmp_path))))
    out = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    one = json.loads((tmp_path / "0-1.json").read_text())
    for rank in range(2):
        merged = json.loads((tmp_path / f"{rank}-2.json").read_text())
        assert merged["batches"] == one["batches"] == 8
        assert merged["layers"][0]["samples"] == one["layers"][0]["samples"] == 256
        assert merged["layers"][0]["positive_fraction"] == one["layers"][0]["positive_fraction"]
    assert "over 8 batch(es)" in out.stdout  # the block's own entry point, as a script
