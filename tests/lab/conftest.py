"""Fixtures of the lab's tests (helpers they import are in ``tests/lab/*.py`` modules)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A loopback Dask cluster: one `dask scheduler` and two `dask worker` processes."""
    from tests.lab.dask_cluster import LoopbackCluster

    cluster = LoopbackCluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()
