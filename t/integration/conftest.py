"""
Fixtures of the integration suite.

`nginx` (module scope): a private stock nginx with the ingest module and the
standard config of harness.standard_conf(); one instance per test module.
`nginx_factory` (function scope): start extra instances with custom config.

Every test fails when it made nginx write an [alert], [emerg] or [crit]
line (or sanitizer output) to error.log / stderr; every instance is checked
once more, whole, after its graceful stop.
"""

import pytest

from harness import (NginxServer, Conf, standard_conf, HarnessError)


DEFAULT_TIMEOUT = 150


def pytest_collection_modifyitems(config, items):
    # python3-pytest-timeout, when installed, guards against hangs
    if config.pluginmanager.hasplugin("timeout"):
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


def _start(srv):
    try:
        return srv.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    srv = NginxServer(standard_conf(tmp_path_factory.mktemp("nginx")))
    _start(srv)
    yield srv
    srv.stop()
    srv.assert_clean_log()


@pytest.fixture
def tus(nginx):
    return nginx.tus("/files/")


@pytest.fixture
def nginx_factory(tmp_path_factory):
    """
    make(configure=None, conf=None, allowed=(), standard=True, start=True)

    configure(conf) may change the Conf before start. standard=False starts
    from an empty Conf (only the /pid location).
    """
    servers = []

    def make(configure=None, conf=None, allowed=(), standard=True,
             start=True, **conf_kw):
        if conf is None:
            prefix = tmp_path_factory.mktemp("nginx-custom")
            conf = (standard_conf(prefix, **conf_kw) if standard
                    else Conf(prefix, **conf_kw))
        if configure is not None:
            configure(conf)
        srv = NginxServer(conf, allowed_log_patterns=allowed)
        servers.append(srv)
        if start:
            _start(srv)
        return srv

    yield make

    errors = []
    for srv in servers:
        try:
            srv.stop()
            srv.assert_clean_log()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture(autouse=True)
def _error_log_guard():
    """fails the test that made a running nginx log something forbidden"""
    for srv in list(NginxServer.live):
        if srv.health_problem():
            # reported by the test that killed it; go on with a fresh one
            try:
                srv.restart_after_crash()
            except HarnessError as e:
                pytest.fail("cannot restart nginx after it died in an "
                            "earlier test: %s" % e, pytrace=False)
    before = {id(s): s.log_offsets() for s in NginxServer.live}
    yield
    problems = []
    for srv in list(NginxServer.live):
        problems += srv.log_problems(before.get(id(srv), (0, 0)), mark=True)
        died = srv.health_problem()
        if died:
            problems.append(died)
    if problems:
        pytest.fail("nginx logged forbidden lines during this test:\n"
                    + "\n".join(problems[:40]), pytrace=False)
