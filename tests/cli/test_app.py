"""The `leaky` command as a whole: --version, --help, the console script, a missing extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky import __version__
from leaky.cli import app

runner = CliRunner()


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "plot" in result.output


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("leaky")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"leaky {__version__}"


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    words = set(" ".join(result.output.split()).replace("│", " ").split())
    assert {"plot", "bench", "diagnose", "report", "compare", "tune"} <= words


def _leaky_without(module: str) -> subprocess.CompletedProcess:
    """Run the `leaky` entry point in a process where ``module`` cannot be imported."""
    code = f"import sys; sys.modules[{module!r}] = None; import leaky.cli; leaky.cli.main()"
    return subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=120
    )


def test_without_typer_the_command_says_which_extra_to_install() -> None:
    out = _leaky_without("typer")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (
        "error: the leaky command needs the 'lab' extra: pip install 'leaky[lab]' "
        "(typer is not installed)\n"
    )


def test_without_torch_the_command_says_which_extra_to_install() -> None:
    out = _leaky_without("torch")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (
        "error: the leaky command needs the 'lab' extra: pip install 'leaky[lab]' "
        "(torch is not installed)\n"
    )


def test_without_typer_leaky_cli_imports_and_app_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['typer'] = None; import leaky.cli\n"
        "try:\n    leaky.cli.app\nexcept ImportError as err:\n    print(type(err).__name__, err)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("MissingExtraError the leaky command needs the 'lab' extra")


def _rendered_words(text: str) -> str:
    """The words of a rich help screen, without its box drawing, on one line."""
    for ch in "│╭╮╰╯─":
        text = text.replace(ch, " ")
    return " ".join(text.split())


@pytest.mark.parametrize("command", ["plot", "bench", "diagnose", "report", "compare", "tune"])
def test_help_shows_every_text_as_written_and_no_bool_type(command: str) -> None:
    # rich markup would swallow "[cluster]" ("Needs leaky." was shown); a flag takes no value
    import typer.main

    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    shown = _rendered_words(result.output)
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    for param in cmd.params:
        if param.param_type_name == "option" and getattr(param, "help", None):
            assert " ".join(param.help.replace("\\[", "[").split()) in shown, param.name
    assert "<bool>" not in result.output
    if command in ("report", "compare"):
        assert "leaky[cluster]" in shown
