"""A missing optional dependency is one ImportError that says which extra to install."""

from __future__ import annotations

import pytest

from leaky._imports import MissingExtraError, require, try_import


def test_try_import_defers_a_missing_third_party_module() -> None:
    with try_import("leaky.example", "lab") as deps:
        import leaky_no_such_module  # noqa: F401
    assert not deps.is_successful()
    with pytest.raises(MissingExtraError) as err:
        deps.check()
    assert str(err.value) == (
        "leaky.example needs the 'lab' extra: pip install 'leaky[lab]' "
        "(leaky_no_such_module is not installed)"
    )
    assert isinstance(err.value, ImportError) and err.value.name == "leaky_no_such_module"


def test_try_import_succeeds_and_check_is_silent() -> None:
    with try_import("leaky.example", "lab") as deps:
        import json  # noqa: F401
    assert deps.is_successful()
    deps.check()


def test_a_broken_import_of_leaky_itself_is_not_taken_for_a_missing_extra() -> None:
    raises = pytest.raises(ImportError, match="cannot import name")
    with raises as err, try_import("leaky.example", "lab"):
        from leaky import no_such_name  # noqa: F401
    assert not isinstance(err.value, MissingExtraError)
    with pytest.raises(ModuleNotFoundError), try_import("leaky.example", "lab"):
        import leaky.no_such_module  # noqa: F401


def test_other_errors_pass_through() -> None:
    with pytest.raises(ZeroDivisionError), try_import("leaky.example", "lab"):
        1 / 0  # noqa: B018


def test_require_names_the_first_missing_module_and_imports_nothing() -> None:
    import sys

    require("leaky.example", "lab", ("json", "numpy"))
    with pytest.raises(MissingExtraError, match=r"\(leaky_no_such_module is not installed\)"):
        require("leaky.example", "lab", ("json", "leaky_no_such_module", "other_missing"))
    assert "leaky_no_such_module" not in sys.modules
