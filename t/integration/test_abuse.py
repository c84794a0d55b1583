"""
Abuse controls of the tus module: per-subject quotas (open uploads, bytes
in staging; shared memory, across reloads), rate limits keyed on the token
subject with nginx's own limit_req, content sniffing (reject with 415, or
quarantine), and the pre-create authorization hook (tus_create_auth),
here implemented by nginx itself: a second server block that the hook
location proxies to.

Media samples are made by ffmpeg at the start of the module.
"""

import shutil
import subprocess
import time
import uuid

import pytest

from harness import (MiB, Conf, NginxServer, HarnessError,
                     TusClient, free_port, payload, raw_request, sha256,
                     sha256_file, wait_until)
from tokens import (KeySet, AuthTus, LogCursor, Snapshot, metric_delta,
                    tus_location, create_dirs, decode_metadata, read_lines,
                    wait_log, flip_char, split)


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


HOOK_METADATA = "team dGVhbUE=,origin aG9vaw=="      # teamA, hook


def abuse_conf(prefix, ks):
    c = Conf(prefix)
    hook_port = free_port()
    c.hook_port = hook_port
    c.http += [
        "tus_cleanup_interval 1s;",
        # 1 request a minute and no burst: the second quick request of a
        # subject is refused, whatever the machine's speed
        "limit_req_zone $upload_token_sub zone=persub:1m rate=1r/m;",
        "log_format hookfmt '$request_method $uri user=$http_x_user "
        "orig=$http_x_original_uri';",
    ]
    c.server += ks.directives()
    tus_location(c, "/q/", "q", "tus_max_size 1g;", "tus_quota_uploads 2;",
                 "tus_quota_bytes 10m;")
    tus_location(c, "/qb/", "qb", "tus_max_size 1g;", "tus_quota_bytes 10m;")
    tus_location(c, "/qexp/", "qexp", "tus_max_size 1g;",
                 "tus_quota_uploads 1;", "tus_expiration 2s;")
    tus_location(c, "/rl/", "rl", "tus_max_size 1g;",
                 "limit_req zone=persub nodelay;", "limit_req_status 429;")
    tus_location(c, "/sniff/", "sniff", "tus_max_size 1g;",
                 "tus_sniff reject;", token=False)
    tus_location(c, "/quar/", "quar", "tus_max_size 1g;",
                 "tus_sniff quarantine;",
                 "tus_quarantine %s/quarantine;" % c.prefix, token=False)
    tus_location(c, "/hk/", "hk", "tus_max_size 1g;",
                 "tus_create_auth /hook;", token=False)
    tus_location(c, "/hkt/", "hkt", "tus_max_size 1g;",
                 "tus_create_auth /hook;")
    c.location("= /hook", "internal;",
               "proxy_pass http://127.0.0.1:%d/decide;" % hook_port,
               "proxy_pass_request_body off;",
               'proxy_set_header Content-Length "";',
               "proxy_set_header X-Original-URI $request_uri;")
    c.location("= /metrics", "ingest_metrics;")
    # the application behind the hook, played by nginx
    c.raw_http.append("""\
server {
    listen 127.0.0.1:%d;
    access_log %s/hook.log hookfmt;
    location = /decide {
        if ($http_x_user = "denied") { return 403; }
        if ($http_x_user = "unauth") { return 401; }
        if ($http_x_user = "broken") { return 500; }
        add_header Upload-Metadata "%s" always;
        return 204;
    }
}""" % (hook_port, c.prefix, HOOK_METADATA))
    create_dirs(c)
    return c


@pytest.fixture(scope="module")
def ks(tmp_path_factory):
    return KeySet(tmp_path_factory.mktemp("abusekeys"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory, ks):
    s = NginxServer(abuse_conf(tmp_path_factory.mktemp("abuse"), ks))
    try:
        s.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    s.stop()
    s.assert_clean_log()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """tiny real clips: {name: bytes}"""
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        pytest.fail("ffmpeg is needed for the sniffing tests "
                    "(apt-get install ffmpeg)", pytrace=False)
    d = tmp_path_factory.mktemp("media")
    out = {}
    for name, codec in (("mp4", ["-c:v", "libx264"]),
                        ("mov", ["-c:v", "libx264"]),
                        ("webm", ["-c:v", "libvpx"]),
                        ("mkv", ["-c:v", "mpeg4"]),
                        ("ts", ["-c:v", "mpeg2video"])):
        path = d / ("clip." + name)
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5",
                        "-t", "1", "-pix_fmt", "yuv420p"] + codec
                       + [str(path)], check=True, timeout=120,
                       capture_output=True)
        out[name] = path.read_bytes()
    return out


def tok_client(srv, ks, base, sub=None, key=None):
    sub = sub or uniq("u")
    return AuthTus(srv, base, (key or ks.hs).mint(sub=sub)), sub


def quota_rejected(srv, send, which, store):
    m0 = srv.metrics()
    cur = LogCursor(srv)
    snap = Snapshot(srv.store(store), srv.spool)
    r = send()
    assert r.status_code == 403, (r.status_code, r.text)
    snap.assert_same()
    assert ("quota of open uploads reached" if which == "uploads"
            else "quota of bytes in open uploads reached") in r.text, r.text
    wait_log(cur, r"%s quota of .* reached" % which, level="info")
    assert metric_delta(m0, srv.metrics(), "ingest_quota_rejections_total",
                        quota=which) == 1
    return r


# --------------------------------------------------------------------------
# quotas: /q/ has tus_quota_uploads 2 and tus_quota_bytes 10m


def test_quota_of_open_uploads(srv, ks):
    alice, _ = tok_client(srv, ks, "/q/")
    bob, _ = tok_client(srv, ks, "/q/")
    u1, id1 = alice.create_ok(1000)
    u2, id2 = alice.create_ok(1000)
    quota_rejected(srv, lambda: alice.create(1000), "uploads", "q")
    # another subject is not affected
    bob.create_ok(1000)
    bob.create_ok(1000)
    # a completed upload no longer counts
    assert alice.patch(u1, 0, payload(1000, 1)).status_code == 204
    srv.wait_job(id1)
    u3, id3 = alice.create_ok(1000)
    quota_rejected(srv, lambda: alice.create(10), "uploads", "q")
    # nor does a terminated one
    assert alice.delete(u2).status_code == 204
    alice.create_ok(1000)
    quota_rejected(srv, lambda: alice.create(10), "uploads", "q")


def test_quota_of_bytes(srv, ks):
    carol, _ = tok_client(srv, ks, "/q/")
    carol.create_ok(6 * MiB)
    quota_rejected(srv, lambda: carol.create(6 * MiB), "bytes", "q")
    # up to the quota exactly
    carol.create_ok(4 * MiB)
    other, _ = tok_client(srv, ks, "/q/")
    other.create_ok(6 * MiB)


def test_quota_of_bytes_counts_a_deferred_length_once_set(srv, ks):
    dave, _ = tok_client(srv, ks, "/qb/")
    durl, did = dave.create_ok(defer=True)
    dave.create_ok(8 * MiB)
    r = dave.patch(durl, 0, b"x" * 10, headers={"Upload-Length": str(MiB)})
    assert r.status_code == 204, (r.status_code, r.text)
    # 8 MiB + 1 MiB in use: 2 MiB more is too much, 1 MiB fits
    quota_rejected(srv, lambda: dave.create(2 * MiB), "bytes", "qb")
    dave.create_ok(MiB)


def test_quota_survives_reload(srv, ks):
    erin, _ = tok_client(srv, ks, "/q/")
    u1, id1 = erin.create_ok(100)
    erin.create_ok(100)
    quota_rejected(srv, lambda: erin.create(100), "uploads", "q")
    srv.reload()
    quota_rejected(srv, lambda: erin.create(100), "uploads", "q")
    # and is given back after the reload
    assert erin.patch(u1, 0, b"y" * 100).status_code == 204
    erin.create_ok(100)
    quota_rejected(srv, lambda: erin.create(100), "uploads", "q")


def test_quota_released_when_an_upload_expires(srv, ks):
    """/qexp/: 1 open upload, tus_expiration 2s"""
    fay, _ = tok_client(srv, ks, "/qexp/")
    fay.create_ok(100)
    quota_rejected(srv, lambda: fay.create(100), "uploads", "qexp")

    def created():
        r = fay.create(100)
        assert r.status_code in (201, 403), (r.status_code, r.text)
        return r.status_code == 201

    wait_until(created, timeout=30, interval=0.5,
               what="the expired upload to give its quota back")


# --------------------------------------------------------------------------
# rate limit keyed on $upload_token_sub


def test_rate_limit_per_subject(srv, ks):
    alice, alice_sub = tok_client(srv, ks, "/rl/")
    bob, _ = tok_client(srv, ks, "/rl/")
    alice.create_ok(10)
    snap = Snapshot(srv.store("rl"), srv.spool)
    r = alice.create(10)
    assert r.status_code == 429, (r.status_code, r.text)
    # another token of the same subject shares the limit
    again = AuthTus(srv, "/rl/", ks.ed.mint(sub=alice_sub))
    assert again.create(10).status_code == 429
    snap.assert_same()
    bob.create_ok(10)
    snap = Snapshot(srv.store("rl"), srv.spool)
    # no token, or a bad one: no subject, not limited here, refused later
    anon = AuthTus(srv, "/rl/")
    bad = AuthTus(srv, "/rl/", _tamper(ks.hs.mint(sub="mallet")))
    for _ in range(3):
        assert anon.create(10).status_code == 401
        assert bad.create(10).status_code == 401
    snap.assert_same()


def _tamper(token):
    h, p, s = split(token)
    return "%s.%s.%s" % (h, p, flip_char(s, len(s) // 2))


# --------------------------------------------------------------------------
# sniffing: /sniff/ rejects, /quar/ quarantines


NOT_VIDEO = b"hello world" * 1000


def sniff_rejected(srv, t, url, uid, data, store="sniff"):
    m0 = srv.metrics()
    cur = LogCursor(srv)
    r = t.patch(url, 0, data)
    assert r.status_code == 415, (r.status_code, r.text)
    assert t.offset(url) == 0
    assert (srv.store(store) / uid).stat().st_size == 0
    assert not srv.job_path(uid).exists()
    wait_log(cur, r"tus: upload %s: content is .*: rejected" % uid,
             level="info")
    assert metric_delta(m0, srv.metrics(),
                        "ingest_uploads_sniff_rejected_total") == 1


def test_sniff_rejects_what_is_not_a_video(srv, media):
    t = TusClient(srv, "/sniff/")
    mp4 = media["mp4"]
    url, uid = t.create_ok(len(mp4), metadata={"filetype": "video/mp4"})
    sniff_rejected(srv, t, url, uid, NOT_VIDEO[:len(mp4)])
    # the real thing is taken
    r = t.patch(url, 0, mp4)
    assert r.status_code == 204, (r.status_code, r.text)
    job = srv.wait_job(uid)
    assert sha256_file(job["source"]) == sha256(mp4)


def test_sniff_rejects_a_container_other_than_declared(srv, media):
    t = TusClient(srv, "/sniff/")
    mp4 = media["mp4"]
    url, uid = t.create_ok(len(mp4), metadata={"filetype": "video/webm"})
    sniff_rejected(srv, t, url, uid, mp4)
    url, uid = t.create_ok(len(media["webm"]),
                           metadata={"contentType": "video/mp4"})
    sniff_rejected(srv, t, url, uid, media["webm"])


@pytest.mark.parametrize("name,declared", [
    ("mp4", None), ("mp4", "video/mp4"), ("mp4", "video/quicktime"),
    ("mov", "video/quicktime"), ("mov", "video/mp4"),
    ("webm", "video/webm"), ("webm", "video/x-matroska"),
    ("mkv", "video/x-matroska"), ("mkv", None), ("ts", "video/mp2t"),
])
def test_sniff_accepts_real_containers(srv, media, name, declared):
    t = TusClient(srv, "/sniff/")
    data = media[name]
    meta = {"filetype": declared} if declared else None
    url, uid = t.create_ok(len(data), metadata=meta)
    # in two parts: only the first one (offset 0) is sniffed
    half = len(data) // 2
    r = t.patch(url, 0, data[:half])
    assert r.status_code == 204, (name, declared, r.status_code, r.text)
    assert t.patch(url, half, data[half:]).status_code == 204
    assert sha256_file(srv.wait_job(uid)["source"]) == sha256(data)


def test_sniff_looks_at_the_first_part_only(srv, media):
    t = TusClient(srv, "/sniff/")
    data = media["mp4"][:1000] + NOT_VIDEO
    url, uid = t.create_ok(len(data), metadata={"filetype": "video/mp4"})
    assert t.patch(url, 0, data[:1000]).status_code == 204
    assert t.patch(url, 1000, data[1000:]).status_code == 204
    srv.wait_job(uid)


def test_sniff_rejects_creation_with_upload(srv, media):
    t = TusClient(srv, "/sniff/")
    snap = Snapshot(srv.spool)
    before = set(p.name for p in srv.store("sniff").iterdir())
    r = t.create(len(NOT_VIDEO), body=NOT_VIDEO,
                 metadata={"filetype": "video/mp4"})
    assert r.status_code == 415, (r.status_code, r.text)
    snap.assert_same()
    # no byte of it was kept
    for p in srv.store("sniff").iterdir():
        if p.name not in before and not p.name.endswith(".info"):
            assert p.stat().st_size == 0, p


def test_quarantine(srv, media):
    t = TusClient(srv, "/quar/")
    qdir = srv.prefix / "quarantine"
    m0 = srv.metrics()
    cur = LogCursor(srv)
    url, uid = t.create_ok(len(NOT_VIDEO), metadata={"filetype": "video/mp4",
                                                     "filename": "x.mp4"})
    assert t.patch(url, 0, NOT_VIDEO[:5000]).status_code == 204
    r = t.patch(url, 5000, NOT_VIDEO[5000:])
    assert r.status_code == 204, (r.status_code, r.text)
    assert r.headers["Upload-Offset"] == str(len(NOT_VIDEO))
    wait_until(lambda: (qdir / uid).exists(), timeout=10,
               what="the upload in the quarantine directory")
    assert (qdir / uid).read_bytes() == NOT_VIDEO
    info = (qdir / (uid + ".info")).read_text()
    assert "\nstate quarantined\n" in info, info
    assert not (srv.store("quar") / uid).exists()
    assert not srv.job_path(uid).exists()
    wait_log(cur, r"upload %s complete and quarantined" % uid)
    m1 = srv.metrics()
    assert metric_delta(m0, m1, "ingest_uploads_quarantined_total") == 1
    assert metric_delta(m0, m1, "ingest_spool_jobs_total") == 0


def test_quarantine_of_a_type_mismatch_and_not_of_a_good_upload(srv, media):
    t = TusClient(srv, "/quar/")
    qdir = srv.prefix / "quarantine"
    m0 = srv.metrics()
    mp4 = media["mp4"]
    url, bad = t.create_ok(len(mp4), metadata={"filetype": "video/webm"})
    assert t.patch(url, 0, mp4).status_code == 204
    url, good = t.create_ok(len(mp4), metadata={"filetype": "video/mp4"})
    assert t.patch(url, 0, mp4).status_code == 204
    job = srv.wait_job(good)
    assert sha256_file(job["source"]) == sha256(mp4)
    assert not (qdir / good).exists()
    assert (qdir / bad).read_bytes() == mp4
    assert not srv.job_path(bad).exists()
    assert metric_delta(m0, srv.metrics(),
                        "ingest_uploads_quarantined_total") == 1


# --------------------------------------------------------------------------
# pre-create hook


def hook_calls(srv):
    return [l for l in read_lines(srv.prefix / "hook.log") if "/decide" in l]


def settle_hook_calls(srv, n, timeout=10):
    """the hook log has n lines (bounded wait, then a short settle so a
    stray late line would show)"""
    wait_until(lambda: len(hook_calls(srv)) >= n, timeout=timeout,
               what="%d hook calls" % n)
    time.sleep(0.3)
    return hook_calls(srv)


def test_hook_allows_and_adds_metadata(srv):
    t = TusClient(srv, "/hk/")
    n0 = len(hook_calls(srv))
    data = payload(2000, 4)
    url, uid = t.create_ok(len(data), headers={"X-User": "good"},
                           metadata={"filename": "clip.mp4",
                                     "team": "clientTeam"})
    calls = settle_hook_calls(srv, n0 + 1)
    assert len(calls) == n0 + 1, calls[n0:]
    # the hook sees the creation request's headers (a subrequest: GET)
    assert calls[-1].endswith(" /decide user=good orig=/hk/"), calls[-1]
    meta = decode_metadata(t.head(url).headers.get("Upload-Metadata"))
    # the hook's value wins for a key both sent
    assert meta == {"filename": "clip.mp4", "team": "teamA",
                    "origin": "hook"}, meta
    assert t.patch(url, 0, data).status_code == 204
    job = srv.wait_job(uid)
    assert job["metadata"].get("team") == "teamA", job["metadata"]
    assert job["metadata"].get("filename") == "clip.mp4", job["metadata"]
    # without metadata of its own, the upload gets the hook's
    url, uid = t.create_ok(10, headers={"X-User": "good"})
    meta = decode_metadata(t.head(url).headers.get("Upload-Metadata"))
    assert meta == {"team": "teamA", "origin": "hook"}, meta


@pytest.mark.parametrize("user,status", [("denied", 403), ("unauth", 401)])
def test_hook_denies(srv, user, status):
    t = TusClient(srv, "/hk/")
    m0 = srv.metrics()
    cur = LogCursor(srv)
    snap = Snapshot(srv.store("hk"), srv.spool)
    n0 = len(hook_calls(srv))
    r = t.create(100, headers={"X-User": user},
                 metadata={"filename": "x.mp4"})
    assert r.status_code == status, (r.status_code, r.text)
    snap.assert_same()
    wait_log(cur, r"create hook denied the upload with %d" % status,
             level="info")
    assert metric_delta(m0, srv.metrics(),
                        "ingest_create_hook_denials_total") == 1
    assert len(settle_hook_calls(srv, n0 + 1)) == n0 + 1
    # the same with a body (creation-with-upload): nothing kept
    r = t.create(100, headers={"X-User": user}, body=b"z" * 100)
    assert r.status_code == status, (r.status_code, r.text)
    snap.assert_same()


def test_hook_failure_is_a_500(srv):
    t = TusClient(srv, "/hk/")
    snap = Snapshot(srv.store("hk"), srv.spool)
    r = t.create(100, headers={"X-User": "broken"})
    assert r.status_code == 500, (r.status_code, r.text)
    snap.assert_same()


def test_hook_is_not_called_for_other_requests(srv):
    t = TusClient(srv, "/hk/")
    n0 = len(hook_calls(srv))
    data = payload(3000, 8)
    url, uid = t.create_ok(len(data), headers={"X-User": "good"})
    h = {"X-User": "denied"}          # the hook would refuse these
    assert t.head(url, headers=h).status_code == 200
    assert t.patch(url, 0, data[:1000], headers=h).status_code == 204
    assert t.options(url, headers=h).status_code == 204
    assert t.patch(url, 1000, data[1000:], headers=h).status_code == 204
    assert t.get(url, headers=h).status_code == 200
    url2, _ = t.create_ok(10, headers={"X-User": "good"})
    assert t.delete(url2, headers=h).status_code == 204
    calls = settle_hook_calls(srv, n0 + 2)
    assert len(calls) == n0 + 2, calls[n0:]
    assert all(c.endswith(" orig=/hk/") for c in calls[n0:]), calls[n0:]


@pytest.mark.parametrize("overrides", [
    ["POST", "PATCH"], ["PATCH", "POST"], ["PATCH"], ["post"],
])
def test_hook_cannot_be_bypassed(srv, overrides):
    """a creation the hook did not see never happens, whatever the
    X-HTTP-Method-Override headers say"""
    n0 = len(hook_calls(srv))
    snap = Snapshot(srv.store("hk"), srv.spool)
    hdrs = [("Tus-Resumable", "1.0.0"), ("Upload-Length", "10"),
            ("X-User", "denied")]
    hdrs += [("X-HTTP-Method-Override", o) for o in overrides]
    r = raw_request(srv.port, "POST", "/hk/", hdrs)
    assert r.status >= 400, (r.status, r.headers, r.body)
    snap.assert_same()
    if r.status == 403:
        assert len(settle_hook_calls(srv, n0 + 1)) == n0 + 1


def test_hook_runs_after_the_token_check(srv, ks):
    """/hkt/: a request without a valid token never reaches the hook"""
    n0 = len(hook_calls(srv))
    snap = Snapshot(srv.store("hkt"), srv.spool)
    anon = AuthTus(srv, "/hkt/")
    bad = AuthTus(srv, "/hkt/", _tamper(ks.hs.mint(sub="hk")))
    assert anon.create(10, headers={"X-User": "good"}).status_code == 401
    assert bad.create(10, headers={"X-User": "good"}).status_code == 401
    sub = uniq("hk")
    good = AuthTus(srv, "/hkt/", ks.ed.mint(sub=sub))
    assert good.create(10, headers={"X-User": "denied"}).status_code == 403
    snap.assert_same()
    url, uid = good.create_ok(10, headers={"X-User": "good"},
                              metadata={"filename": "a.mp4"})
    calls = settle_hook_calls(srv, n0 + 2)
    assert len(calls) == n0 + 2, calls[n0:]
    meta = decode_metadata(good.head(url).headers.get("Upload-Metadata"))
    assert meta == {"filename": "a.mp4", "team": "teamA", "origin": "hook"}
    assert "\nowner %s\n" % sub in (srv.store("hkt") / (uid + ".info")) \
        .read_text()
