"""
Configuration: `nginx -t` accepts the standard config and rejects broken
ones with a clear [emerg]; start-up creates a missing tus_store; `tus off`
leaves a location alone.

The broken configs use their own prefix and are never started, so their
[emerg] lines do not count against the suite.
"""

import os

import pytest
import requests

from harness import (Conf, nginx_t, standard_conf, TUS_HDR,
                     HTTP_TIMEOUT, dir_snapshot)


def test_standard_config_passes_nginx_t(tmp_path):
    rc, out = nginx_t(standard_conf(tmp_path))
    assert rc == 0, out
    assert "test is successful" in out
    assert "[emerg]" not in out and "[alert]" not in out, out


def bare(tmp_path, *location_directives, http=(), server=(), main=()):
    c = Conf(tmp_path)
    c.http += list(http)
    c.server += list(server)
    c.main += list(main)
    if location_directives:
        c.location("/files/", *location_directives)
    return c


BROKEN = {
    "tus-without-store": (["tus on;"], {}, "tus_store"),
    "bad-max-size": (["tus on;", "tus_store {store};", "tus_max_size abc;"],
                     {}, "tus_max_size"),
    "bad-expiration": (["tus on;", "tus_store {store};",
                        "tus_expiration forever;"], {}, "tus_expiration"),
    "bad-flag": (["tus maybe;", "tus_store {store};"], {}, "tus"),
    "cleanup-in-location": (["tus on;", "tus_store {store};",
                             "tus_cleanup_interval 1s;"], {},
                            "tus_cleanup_interval"),
    "metrics-in-server": ([], {"server": ["ingest_metrics;"]},
                          "ingest_metrics"),
    "zone-in-location": (["ingest_zone 1m;"], {}, "ingest_zone"),
    "unknown-thread-pool": (["tus on;", "tus_store {store};",
                             "tus_thread_pool nosuchpool;"], {},
                            "nosuchpool"),
    "cors-no-args": (["tus on;", "tus_store {store};", "tus_cors_origin;"],
                     {}, "tus_cors_origin"),
    "location-base-no-args": (["tus on;", "tus_store {store};",
                               "tus_location_base;"], {},
                              "tus_location_base"),
    "behind-proxy-bad": (["tus on;", "tus_store {store};",
                          "tus_behind_proxy sometimes;"], {},
                         "tus_behind_proxy"),
    "duplicate-tus": (["tus on;", "tus on;", "tus_store {store};"], {},
                      "duplicate"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_fails_nginx_t(tmp_path, case):
    directives, where, keyword = BROKEN[case]
    store = tmp_path / "store"
    directives = [d.replace("{store}", str(store)) for d in directives]
    c = bare(tmp_path, *directives, server=where.get("server", ()))
    rc, out = nginx_t(c)
    assert rc != 0, "nginx -t accepted:\n%s\n%s" % (c.render(), out)
    emerg = [l for l in out.splitlines() if "[emerg]" in l]
    assert emerg, out
    assert any(keyword in l for l in emerg), out
    # nginx -t never starts workers: nothing written to the store
    assert not store.exists() or dir_snapshot(store) == {}


def test_missing_store_is_created_at_startup(nginx_factory, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("nginx-newstore")
    store = prefix / "deep" / "er" / "store"

    def configure(c):
        c.location("/files/", "tus on;", "tus_store %s;" % store,
                   "tus_max_size 1m;", "client_max_body_size 0;")

    srv = nginx_factory(conf=Conf(prefix), configure=configure)
    assert store.is_dir()
    t = srv.tus("/files/")
    url, uid = t.upload(b"hello")
    assert (store / uid).read_bytes() == b"hello"
    assert (store / (uid + ".info")).exists()


def test_tus_off_declines(nginx_factory, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("nginx-off")
    store = prefix / "store"
    store.mkdir()
    (prefix / "html" / "off").mkdir(parents=True)
    (prefix / "html" / "off" / "hello.txt").write_text("static\n")

    def configure(c):
        c.location("/off/", "tus off;", "tus_store %s;" % store,
                   "root %s;" % (prefix / "html"))

    srv = nginx_factory(conf=Conf(prefix), configure=configure)
    r = requests.post(srv.url("/off/"), headers=dict(TUS_HDR, **{
        "Upload-Length": "5"}), timeout=HTTP_TIMEOUT)
    assert r.status_code != 201
    assert "Tus-Resumable" not in r.headers
    assert os.listdir(store) == []
    r = requests.get(srv.url("/off/hello.txt"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.text == "static\n"


def test_warns_about_client_max_body_size(nginx_factory, tmp_path_factory):
    """directives.md ("tus"): nginx warns at start-up when
    client_max_body_size is below two write buffers"""
    prefix = tmp_path_factory.mktemp("nginx-cmbs")

    def configure(c):
        # two 512k buffers by default: 512k is below, 1m (nginx's default)
        # is not
        c.location("/files/", "tus on;", "tus_store %s;" % (prefix / "s"),
                   "client_max_body_size 512k;")
        c.location("/def/", "tus on;", "tus_store %s;" % (prefix / "d"))
        c.location("/big/", "tus on;", "tus_store %s;" % (prefix / "b"),
                   "client_max_body_size 0;")

    srv = nginx_factory(conf=Conf(prefix), configure=configure)
    lines = (srv.read_log() + srv.read_stderr()).splitlines()
    warns = [l for l in lines
             if "[warn]" in l and "client_max_body_size 524288" in l]
    assert len(warns) == 1, lines[-20:]
    # the limit is nginx's: a PATCH above it gets 413 (and nothing written)
    for base, store, size in (("/files/", "s", 600 << 10),
                              ("/def/", "d", 2 << 20)):
        t = srv.tus(base)
        url, uid = t.create_ok(4 << 20)
        r = t.patch(url, 0, b"x" * size)
        assert r.status_code == 413, (base, r.status_code)
        assert (prefix / store / uid).stat().st_size == 0
    # where it is 0, tus_max_size (off here) is the limit
    t = srv.tus("/big/")
    url, uid = t.create_ok(4 << 20)
    assert t.patch(url, 0, b"x" * (2 << 20)).status_code == 204


def test_zone_size_and_defaults(nginx_factory, tmp_path_factory):
    prefix = tmp_path_factory.mktemp("nginx-zone")

    def configure(c):
        c.http.append("ingest_zone 2m;")
        # no thread_pool line: the module creates the default pool itself
        c.thread_pool = None
        c.location("/files/", "tus on;", "tus_store %s;" % (prefix / "s"),
                   "client_max_body_size 0;")
        c.location("= /metrics", "ingest_metrics;")

    srv = nginx_factory(conf=Conf(prefix), configure=configure)
    t = srv.tus("/files/")
    opts = t.options()
    assert opts.status_code == 204
    # tus_max_size off by default: no Tus-Max-Size
    assert "Tus-Max-Size" not in opts.headers
    r = t.create(100)
    assert r.status_code == 201
    # default tus_expiration 24h
    assert "Upload-Expires" in r.headers
    url, uid = t.upload(b"x" * 100)
    assert srv.metrics().get("ingest_uploads_completed_total",
                             protocol="tus") == 1
