"""Optional dependencies that fail kindly: one line that says which extra to install.

The core (``leaky.leaky_relu`` and friends) needs NumPy, array-api-compat and numba only.
Everything else belongs to an extra (``pyproject.toml``): ``leaky[torch]`` for ``leaky.nn``
and ``leaky.monitor``, ``leaky[lab]`` for the evidence (``leaky.lab``) and the ``leaky``
command. Where one is missing, the user gets a ``MissingExtraError`` (an ``ImportError``)
whose message is one line, for example::

    leaky.lab needs the 'lab' extra: pip install 'leaky[lab]' (torch is not installed)

In the style of optuna's ``_imports.try_import``: ``try_import`` defers the error of an
import block until ``check()``; ``require`` checks that modules are installed without
importing them (cheap: the heavy imports stay where they are used).

Examples:
    >>> with try_import("demo", "lab") as deps:
    ...     import no_such_mod
    >>> deps.is_successful()
    False
    >>> try:
    ...     deps.check()
    ... except ImportError as err:
    ...     print(err)
    demo needs the 'lab' extra: pip install 'leaky[lab]' (no_such_mod is not installed)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from types import TracebackType

# The third-party modules each extra provides that leaky imports (pyproject.toml's extras).
LAB_MODULES = ("torch", "sklearn", "scipy", "matplotlib", "optuna", "jinja2")
CLI_MODULES = ("typer", "rich", *LAB_MODULES)


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install 'leaky[{extra}]' "
            f"({missing} is not installed)",
            name=missing,
        )
        self.feature, self.extra, self.missing = feature, extra, missing


class try_import:
    """Defer the error of a missing third-party module in a ``with`` block until ``check()``.

    A ``ModuleNotFoundError`` for a module other than leaky's own becomes a
    ``MissingExtraError``; any other exception propagates at once.

    Args:
        feature: what needs the imports, as the user knows it ("leaky.lab").
        extra: the extra of ``pyproject.toml`` that installs them ("lab").
    """

    def __init__(self, feature: str, extra: str) -> None:
        self.feature, self.extra = feature, extra
        self._error: MissingExtraError | None = None

    def __enter__(self) -> try_import:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if isinstance(exc, MissingExtraError):
            self._error = exc
            return True
        missing = (getattr(exc, "name", None) or "leaky").split(".")[0]
        if isinstance(exc, ModuleNotFoundError) and missing != "leaky":
            self._error = MissingExtraError(self.feature, self.extra, missing)
            self._error.__cause__ = exc
            return True
        return False  # anything else, a broken import of leaky's own included, is a bug

    def is_successful(self) -> bool:
        """True if every import of the block succeeded."""
        return self._error is None

    def check(self) -> None:
        """Raise the deferred ``MissingExtraError``, if an import failed."""
        if self._error is not None:
            raise self._error


def require(feature: str, extra: str, modules: Iterable[str]) -> None:
    """Raise ``MissingExtraError`` naming the first of ``modules`` that is not installed.

    Only looks the modules up (``importlib.util.find_spec``); imports nothing.
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(feature, extra, module)


class MissingPackageError(ImportError):
    """A third-party package an integration works with is missing; the message is one
    line naming what to install (for integrations, where the user already chose the
    package: Lightning, TensorBoard)."""

    def __init__(self, feature: str, package: str, missing: str) -> None:
        super().__init__(
            f"{feature} needs {package}: pip install {package} ({missing} is not installed)",
            name=missing,
        )
        self.feature, self.package, self.missing = feature, package, missing


def require_package(feature: str, package: str, modules: Iterable[str] | None = None) -> None:
    """Raise ``MissingPackageError`` naming the first of ``modules`` (default: the
    package itself) that is not installed. Imports nothing.

    Examples:
        >>> try:
        ...     require_package("demo", "no-such-pkg", ["no_such_mod"])
        ... except ImportError as err:
        ...     print(err)
        demo needs no-such-pkg: pip install no-such-pkg (no_such_mod is not installed)
    """
    for module in modules if modules is not None else (package,):
        if importlib.util.find_spec(module) is None:
            raise MissingPackageError(feature, package, module)
