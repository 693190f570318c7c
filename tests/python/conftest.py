import logging

import numpy as np
import pytest
from twinpurify.datasets import simulate_cohort

FAST = dict(n_components=8, hidden_dims=(32,), projector_dims=(32, 32), max_epochs=4, random_state=0, verbose=False)


@pytest.fixture(scope="session")
def cohort():
    """A toy cohort: 60 tumors, 12 normals, 200 genes of integer counts."""
    return simulate_cohort(n_tumors=60, n_normals=12, n_genes=200, seed=1)


@pytest.fixture(scope="session")
def log_pair(cohort):
    """The toy cohort as log2(CPM + 1) DataFrames."""

    def lg(df):
        return np.log2(df.div(df.sum(1), axis=0) * 1e6 + 1)

    return lg(cohort.tumors), lg(cohort.normals)


@pytest.fixture
def fast():
    return dict(FAST)


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):
    caplog.set_level(logging.INFO, logger="twinpurify")
