"""`leaky plot`: the figure for the given slopes, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app

runner = CliRunner()


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_writes_the_figure(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "sub" / f"f{suffix}"
    result = runner.invoke(app, ["plot", "--slope", "0.05", "-s", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data
    assert "0.05, 0.2" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slope", "1.5"], "negative_slope"),
        (["--slope", "nan"], "real number in [0, 1]"),
        (["--out", "figure.pdf"], "must end in one of .png, .svg"),
    ],
)
def test_plot_bad_input_is_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["plot", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_plot_an_unwritable_out_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("mine")
    result = runner.invoke(app, ["plot", "--out", str(tmp_path / "afile" / "f.png")])
    assert result.exit_code == 2
    assert (
        result.output
        == f"error: cannot write --out {tmp_path}/afile/f.png: {tmp_path}/afile is not a folder.\n"
    )


def test_plot_an_output_path_with_brackets_is_printed_as_typed(tmp_path: Path) -> None:
    out = tmp_path / "runs[final]" / "fig.png"
    result = runner.invoke(app, ["plot", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (slopes 0.01, 0.1, 0.3)" in result.output
