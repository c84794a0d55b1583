"""
Fixtures of the worker's integration suite.

`clips` (session): test clips made on first use.
`worker` (function): a factory of Worker daemons on a private spool and
output directory; every one still running is stopped after the test and
its log checked for crashes of job processes the test did not cause.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Clips, Worker, build  # noqa: E402


DEFAULT_TIMEOUT = 240


def pytest_collection_modifyitems(config, items):
    # python3-pytest-timeout, when installed, guards against hangs
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


@pytest.fixture(scope="session", autouse=True)
def worker_bin():
    return build()


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    return Clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture
def worker(tmp_path):
    made = []

    def factory(name="w", **kw):
        w = Worker(tmp_path / name, **kw)
        made.append(w)
        return w

    yield factory

    for w in made:
        if w.proc is not None:
            w.stop()
    # a sanitizer build (INGEST_WORKER_BIN) fails the test on any report
    reports = {}
    for w in made:
        reports.update(w.sanitizer_reports())
    if reports:
        pytest.fail("sanitizer reports of the worker:\n" + "\n".join(
            "== %s\n%s" % (n, t[:6000]) for n, t in reports.items()),
            pytrace=False)
