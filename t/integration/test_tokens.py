"""
Signed tokens (ngx_http_ingest_token_module) in front of tus: where the
token comes from, every rejection (status, reason logged at info, counted
in ingest_auth_failures_total, nothing stored), leeway, scope and path
tricks, max_size and types, the jti/sub deny list (edited live, broken on
reload), key rotation, ownership of uploads, resumable sessions (a token
that expires in the middle of an upload, idle and absolute limits), the
$upload_token_* variables, and tus-js-client with a token header.

Tokens are minted here with our own Python (tokens.py: hmac/hashlib for
HS256, python3-cryptography for EdDSA), never with the module's code or
its CLI.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import requests

from harness import (NGINX, REPO, HTTP_TIMEOUT, KiB, MiB, Conf, NginxServer,
                     HarnessError, payload, big_payload, raw_request, sha256,
                     sha256_file, wait_until, sanitizer_env)
from tokens import (KeySet, HSKey, EdKey, AuthTus, LogCursor, Snapshot,
                    auth_failures, metric_delta, bearer, claims, mint,
                    json_part, b64url, split, flip_char, tus_location,
                    create_dirs, sleep_until, read_lines, wait_log)


JS_DIR = REPO / "t" / "js"
JS_SCRIPT = JS_DIR / "tus_token_upload.mjs"
NODE = shutil.which("node") or "/usr/bin/node"

# "sub trudy <T>": trudy's tokens issued at or before T are revoked
TRUDY_BEFORE = int(time.time()) - 1000

DENY_LIST = """\
# the deny list the tests start from
jti revoked-jti-1
sub mallory
sub trudy %d
""" % TRUDY_BEFORE

TOKEN_LOG_FORMAT = ("log_format tok '$upload_token_sub|$upload_token_status|"
                    "$upload_token_kid|$upload_token_jti|$upload_token_scope|"
                    "$request_method|$uri|$status';")


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def token_conf(prefix, ks, deny_list=DENY_LIST):
    c = Conf(prefix)
    revoked = c.prefix / "revoked.txt"
    c.prefix.mkdir(parents=True, exist_ok=True)
    revoked.write_text(deny_list)
    c.http += ["tus_cleanup_interval 1s;",
               "ingest_token_revoked %s;" % revoked,
               TOKEN_LOG_FORMAT]
    c.server += ["access_log %s/access.log ingest_test;" % c.prefix,
                 "access_log %s/token.log tok;" % c.prefix]
    # server level: inherited by every location that sets no key
    c.server += ks.directives()
    tus_location(c, "/up/", "up", "tus_max_size 1g;")
    tus_location(c, "/other/", "other", "tus_max_size 1g;")
    tus_location(c, "/upx/", "upx", "tus_max_size 1g;")
    tus_location(c, "/sized/", "sized", "tus_max_size 1m;")
    tus_location(c, "/arg/", "arg", "tus_max_size 1g;",
                 "ingest_token_arg sig;")
    tus_location(c, "/sess/", "sess", "tus_max_size 1g;",
                 "ingest_token_leeway 0;", "ingest_token_session_idle 5s;",
                 "ingest_token_session_max 60s;")
    tus_location(c, "/sessjs/", "sessjs", "tus_max_size 1g;",
                 "ingest_token_leeway 0;", "ingest_token_session_idle 30s;",
                 "ingest_token_session_max 120s;")
    tus_location(c, "/smax/", "smax", "tus_max_size 1g;",
                 "ingest_token_leeway 0;", "ingest_token_session_idle 1h;",
                 "ingest_token_session_max 4s;")
    # a token on a location that is not tus (HLS playback, say): static
    # files, no sessions
    html = c.prefix / "html" / "plain"
    html.mkdir(parents=True, exist_ok=True)
    (html / "hello.txt").write_text("hello\n")
    c.location("/plain/", "ingest_token on;", "root %s/html;" % c.prefix,
               "add_header X-Sub $upload_token_sub always;",
               "add_header X-Token-Status $upload_token_status always;")
    c.location("= /metrics", "ingest_metrics;")
    create_dirs(c)
    return c


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def ks(tmp_path_factory):
    return KeySet(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory, ks):
    s = NginxServer(token_conf(tmp_path_factory.mktemp("tokens"), ks))
    try:
        s.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    s.stop()
    s.assert_clean_log()


@pytest.fixture
def deny_file(srv):
    """the live deny list; restored after the test"""
    path = srv.prefix / "revoked.txt"
    yield path
    tmp = path.with_suffix(".tmp")
    tmp.write_text(DENY_LIST)
    os.rename(tmp, path)


def wait_deny_reloads(srv, cur, timeout=10):
    """every worker re-read the deny list since the cursor"""
    n = len(srv.worker_pids())
    wait_until(lambda: len(cur.find(r"token deny list .* reloaded",
                                    level="info")) >= n,
               timeout=timeout, interval=0.1,
               what="%d workers to re-read the deny list" % n)


def up(srv, token=None, base="/up/", **kw):
    return AuthTus(srv, base, token, **kw)


def www_auth(r):
    return r.headers.get("WWW-Authenticate", "")


def new_uploads(srv, store, since):
    return [p for p in srv.store(store).iterdir()
            if p.name not in since and not p.name.endswith(".info")]


def check_rejection(srv, send, status, reasons, stores=("up",),
                    log_pattern=None, metric=True):
    """send() must be refused with status, log the reason at info, count
    it in ingest_auth_failures_total and store nothing; returns the
    response"""
    if isinstance(reasons, str):
        reasons = {reasons}
    cur = LogCursor(srv)
    m0 = srv.metrics()
    snap = Snapshot(*([srv.store(s) for s in stores] + [srv.spool]))
    r = send()
    code = getattr(r, "status_code", None) or r.status
    assert code == status, (code, getattr(r, "text", r), dict(r.headers))
    snap.assert_same()
    if status == 401:
        assert www_auth(r).startswith('Bearer realm="ingest"'), dict(r.headers)
    pattern = log_pattern or "|".join(re.escape(x) for x in sorted(reasons))
    wait_log(cur, pattern, level="info")
    if metric:
        m1 = srv.metrics()
        d0, d1 = auth_failures(m0), auth_failures(m1)
        deltas = {k: d1.get(k, 0) - d0.get(k, 0) for k in d1}
        got = sum(deltas.get(k, 0) for k in reasons)
        assert got == 1, ("ingest_auth_failures_total{reason in %r} went up "
                          "by %s; all deltas: %r" % (sorted(reasons), got,
                                                     {k: v for k, v in
                                                      deltas.items() if v}))
    return r


# --------------------------------------------------------------------------
# where the token comes from


def test_bearer_header_and_query_argument(srv, ks):
    sub = uniq("alice")
    tok = ks.hs.mint(sub=sub, scope="/up/")
    t = up(srv, tok)
    data = payload(3000, 1)
    url, uid = t.create_ok(len(data))
    assert t.head(url).status_code == 200
    assert t.patch(url, 0, data[:1000]).status_code == 204

    # presigned URL: ?token=
    q = up(srv, tok, arg="token")
    r = q.head(url)
    assert r.status_code == 200, r.status_code
    assert r.headers["Upload-Offset"] == "1000"
    assert q.patch(url, 1000, data[1000:]).status_code == 204
    url2, uid2 = q.create_ok(10)
    assert (srv.store("up") / (uid2 + ".info")).exists()

    # the argument is named by ingest_token_arg
    atok = ks.hs.mint(sub=sub, scope="/arg/")
    a = up(srv, atok, base="/arg/", arg="sig")
    a.create_ok(10)
    wrong = up(srv, atok, base="/arg/", arg="token")
    check_rejection(srv, lambda: wrong.create(10), 401, "missing",
                    stores=("arg",), log_pattern="token missing")

    # an Authorization of another scheme is not ours: the argument counts
    r = requests.post(srv.url("/up/"), params={"token": tok},
                      headers={"Tus-Resumable": "1.0.0", "Upload-Length": "5",
                               "Authorization": "Basic YTpi"},
                      timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, (r.status_code, r.text)


def test_missing_token(srv, ks):
    tok = ks.hs.mint(sub=uniq("alice"))
    url, uid = up(srv, tok).create_ok(100)
    anon = up(srv)
    for send in (lambda: anon.create(10),
                 lambda: anon.head(url),
                 lambda: anon.patch(url, 0, b"x" * 10),
                 lambda: anon.get(url),
                 lambda: anon.delete(url),
                 # "Bearer" without a token is no token
                 lambda: anon.create(10, headers={"Authorization": "Bearer "}),
                 lambda: anon.create(10, headers={"Authorization": "Bearer"})):
        r = check_rejection(srv, send, 401, "missing",
                            log_pattern="token missing")
        assert www_auth(r) == 'Bearer realm="ingest"', www_auth(r)


def test_options_preflight_needs_no_token(srv, ks):
    url, uid = up(srv, ks.hs.mint(sub=uniq("alice"))).create_ok(10)
    m0 = srv.metrics()
    for target in (srv.url("/up/"), url):
        r = requests.options(target, headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,tus-resumable"},
            timeout=HTTP_TIMEOUT)
        assert r.status_code == 204, (r.status_code, r.text)
        assert "1.0.0" in r.headers.get("Tus-Version", "")
    assert auth_failures(srv.metrics()) == auth_failures(m0)


@pytest.mark.parametrize("which", ["hs", "hs_hex", "hs_b64", "ed"])
def test_every_configured_key_verifies(srv, ks, which):
    key = getattr(ks, which)
    sub = uniq("k")
    t = up(srv, key.mint(sub=sub, scope="/up/"))
    data = payload(500, 3)
    url, uid = t.upload(data)
    assert (srv.store("up") / uid).read_bytes() == data
    job = srv.wait_job(uid)
    assert job["owner"] == sub, job


# --------------------------------------------------------------------------
# rejections


def _tamper_sig(tok):
    h, p, s = split(tok)
    return "%s.%s.%s" % (h, p, flip_char(s, len(s) // 2))


def _swap_payload(tok, new_claims):
    h, p, s = split(tok)
    return "%s.%s.%s" % (h, json_part(new_claims), s)


def _swap_header(tok, new_header):
    h, p, s = split(tok)
    return "%s.%s.%s" % (json_part(new_header), p, s)


def _now():
    return int(time.time())


def _hs_with(ks, header, **kw):
    """HS256-signed with hs1's secret, whatever the header says"""
    return mint(ks.hs, claims(**kw), header=header)


def _unsigned(header, **kw):
    return "%s.%s." % (json_part(header), json_part(claims(**kw)))


REJECTIONS = {
    # signature, payload and header tampering
    "tampered_signature_hs256": (
        lambda ks: _tamper_sig(ks.hs.mint(sub="alice")), 401,
        "bad_signature"),
    "tampered_signature_eddsa": (
        lambda ks: _tamper_sig(ks.ed.mint(sub="alice")), 401,
        "bad_signature"),
    "truncated_signature_eddsa": (
        lambda ks: ks.ed.mint(sub="alice")[:-8], 401,
        {"bad_signature", "malformed"}),
    "tampered_payload_hs256": (
        lambda ks: _swap_payload(ks.hs.mint(sub="alice"),
                                 claims(sub="admin", ttl=86400 * 365)), 401,
        "bad_signature"),
    "tampered_payload_eddsa": (
        lambda ks: _swap_payload(ks.ed.mint(sub="alice", max_size=10),
                                 claims(sub="alice")), 401,
        "bad_signature"),
    "tampered_header_hs256": (
        lambda ks: _swap_header(ks.hs.mint(sub="alice"),
                                {"alg": "HS256", "typ": "JWT", "kid": "hs1",
                                 "x5u": "https://evil.example/k"}), 401,
        "bad_signature"),
    "tampered_header_other_hs_kid": (
        lambda ks: _swap_header(ks.hs.mint(sub="alice"),
                                {"alg": "HS256", "typ": "JWT",
                                 "kid": "hs-hex"}), 401,
        "bad_signature"),
    # time
    "expired": (
        lambda ks: ks.hs.mint(sub="alice", now=_now() - 400, ttl=280), 401,
        "expired"),
    "expired_without_iat": (
        lambda ks: ks.hs.mint(sub="alice", now=_now() - 400, ttl=280,
                              iat=False), 401, "expired"),
    "not_yet_valid_nbf": (
        lambda ks: ks.hs.mint(sub="alice", nbf=_now() + 120), 401,
        "not_yet_valid"),
    "not_yet_valid_iat": (
        lambda ks: ks.hs.mint(sub="alice", iat=_now() + 120), 401,
        "not_yet_valid"),
    # audience and scope
    "wrong_audience": (
        lambda ks: ks.hs.mint(sub="alice", aud="playback"), 403,
        "wrong_audience"),
    "wrong_audience_array": (
        lambda ks: ks.ed.mint(sub="alice", aud=["playback", "uploads"]), 403,
        "wrong_audience"),
    "no_audience": (
        lambda ks: ks.hs.mint(sub="alice", aud=None), 403, "wrong_audience"),
    "scope_other_location": (
        lambda ks: ks.hs.mint(sub="alice", scope="/other/"), 403, "scope"),
    "scope_not_a_segment_prefix": (
        lambda ks: ks.hs.mint(sub="alice", scope="/u"), 403, "scope"),
    "scope_below_the_endpoint": (
        lambda ks: ks.hs.mint(sub="alice", scope="/up/alice/"), 403, "scope"),
    # keys and algorithms
    "unknown_kid": (
        lambda ks: mint(HSKey("nope", ks.hs.secret), claims(sub="alice")),
        401, "unknown_kid"),
    "no_kid": (
        lambda ks: _hs_with(ks, {"alg": "HS256", "typ": "JWT"}, sub="alice"),
        401, "bad_header"),
    "alg_none_empty_signature": (
        lambda ks: _unsigned({"alg": "none", "typ": "JWT", "kid": "hs1"},
                             sub="alice"), 401, {"alg_mismatch", "malformed"}),
    "alg_none_hmac_signature": (
        lambda ks: _hs_with(ks, {"alg": "none", "typ": "JWT", "kid": "hs1"},
                            sub="alice"), 401, "alg_mismatch"),
    "alg_none_no_kid": (
        lambda ks: _unsigned({"alg": "none", "typ": "JWT"}, sub="alice"), 401,
        {"bad_header", "malformed"}),
    "alg_lowercase": (
        lambda ks: _hs_with(ks, {"alg": "hs256", "typ": "JWT", "kid": "hs1"},
                            sub="alice"), 401, "alg_mismatch"),
    "hs256_against_eddsa_key": (
        lambda ks: mint(HSKey("ed1"), claims(sub="alice")), 401,
        "alg_mismatch"),
    "key_confusion_hmac_with_eddsa_pem": (
        lambda ks: mint(HSKey("ed1", ks.ed.public_pem()), claims(sub="alice")),
        401, "alg_mismatch"),
    "key_confusion_hmac_with_eddsa_raw": (
        lambda ks: mint(HSKey("ed1", ks.ed.public_raw()), claims(sub="alice")),
        401, "alg_mismatch"),
    "eddsa_against_hs256_key": (
        lambda ks: mint(ks.ed, claims(sub="alice"), kid="hs1"), 401,
        "alg_mismatch"),
    "crit_header": (
        lambda ks: _hs_with(ks, {"alg": "HS256", "typ": "JWT", "kid": "hs1",
                                 "crit": ["exp"]}, sub="alice"), 401,
        "bad_header"),
    "typ_not_jwt": (
        lambda ks: _hs_with(ks, {"alg": "HS256", "typ": "JOSE+JSON",
                                 "kid": "hs1"}, sub="alice"), 401,
        "bad_header"),
    # claims
    "missing_sub": (
        lambda ks: ks.hs.mint(sub=None), 401, "missing_claim"),
    "missing_exp": (
        lambda ks: ks.ed.mint(sub="alice", exp=None), 401, "missing_claim"),
    "exp_not_a_number": (
        lambda ks: ks.hs.mint(sub="alice", exp=str(_now() + 300)), 401,
        "bad_claim"),
    "max_size_negative": (
        lambda ks: ks.hs.mint(sub="alice", max_size=-1), 401, "bad_claim"),
    # deny list
    "revoked_jti": (
        lambda ks: ks.hs.mint(sub="alice", jti="revoked-jti-1"), 401,
        "revoked"),
    "revoked_subject": (
        lambda ks: ks.ed.mint(sub="mallory"), 401, "revoked"),
    "revoked_subject_issued_before": (
        lambda ks: ks.hs.mint(sub="trudy", iat=TRUDY_BEFORE - 10), 401,
        "revoked"),
    "revoked_subject_without_iat": (
        lambda ks: ks.hs.mint(sub="trudy", iat=False), 401, "revoked"),
    # not a token
    "malformed_two_parts": (
        lambda ks: "abc.def", 401, "malformed"),
    "malformed_not_base64url": (
        lambda ks: "a*b.c$d.e!f", 401, "malformed"),
    "malformed_header_not_json": (
        lambda ks: "%s.%s.%s" % (b64url("not json"),
                                 json_part(claims(sub="alice")), b64url("x")),
        401, "malformed"),
}


@pytest.fixture(scope="module")
def alice_upload(srv, ks):
    """an upload of subject alice on /up/ with nothing written yet"""
    url, uid = up(srv, ks.hs.mint(sub="alice", scope="/up/")).create_ok(100)
    return url, uid


# an expired token (with iat) on an upload of its subject is a session
# matter: see test_session_*
@pytest.mark.parametrize("case,method", [
    (c, m) for c in sorted(REJECTIONS) for m in ("POST", "PATCH")
    if (c, m) != ("expired", "PATCH")])
def test_rejection(srv, ks, alice_upload, case, method):
    make, status, reasons = REJECTIONS[case]
    tok = make(ks)
    t = up(srv, tok)
    url, uid = alice_upload
    if method == "POST":
        send = lambda: t.create(10, metadata={"filetype": "video/mp4"})
    else:
        send = lambda: t.patch(url, 0, b"0123456789")
    r = check_rejection(srv, send, status, reasons)
    if status == 401:
        # the reason is told to the client too (RFC 6750)
        desc = re.search(r'error_description="([^"]*)"', www_auth(r))
        if desc and not (case.startswith("expired") and method == "POST"):
            assert desc.group(1) in reasons, www_auth(r)
    assert (srv.store("up") / uid).stat().st_size == 0


def test_leeway_edges(srv, ks):
    """leeway 30s (the default): exp 10 s ago and nbf/iat 10 s ahead pass"""
    now = _now()
    for tok in (ks.hs.mint(sub=uniq("lw"), now=now - 300, ttl=290),
                ks.hs.mint(sub=uniq("lw"), nbf=now + 10),
                ks.ed.mint(sub=uniq("lw"), iat=now + 10),
                ks.hs.mint(sub=uniq("lw"), now=now - 300, ttl=290,
                           iat=False)):
        r = up(srv, tok).create(10)
        assert r.status_code == 201, (r.status_code, r.text, tok)


def test_audience_in_an_array(srv, ks):
    up(srv, ks.ed.mint(sub=uniq("aud"), aud=["playback", "upload"])) \
        .create_ok(10)


def test_srt_passphrase_claim_is_ignored_by_http(srv, ks):
    """srt_passphrase is the SRT listener's: an upload token may carry
    one; a malformed one makes the token bad_claim everywhere"""
    up(srv, ks.hs.mint(sub=uniq("pp"), srt_passphrase="per stream 1234")) \
        .create_ok(10)
    bad = up(srv, ks.hs.mint(sub=uniq("pp"), srt_passphrase="short"))
    check_rejection(srv, lambda: bad.create(10), 401, "bad_claim")


def test_revoked_subject_after_its_time(srv, ks):
    """sub trudy <T>: tokens issued after T are good"""
    up(srv, ks.hs.mint(sub="trudy", iat=_now())).create_ok(10)


# --------------------------------------------------------------------------
# scope and path tricks


TRICKS = [
    "/up/../other/", "/up/%2e%2e/other/", "/up/%2E%2E/other/",
    "/up/.%2e/other/", "/up/..%2fother/", "/up/..%2Fother/",
    "/up/%2e%2e%2fother/", "/up/%2e%2e%5cother/", "/up/..\\other/",
    "/up/./../other/", "//up/../other/", "/up//../other/",
    "/up/%252e%252e/other/", "/up/%2e%2e/%2e%2e/other/",
    "/up/..;/other/", "/up/%00/../other/",
]


@pytest.mark.parametrize("path", TRICKS)
def test_scope_path_tricks_create(srv, ks, path):
    """a token for /up/ never creates anything in /other/"""
    tok = ks.hs.mint(sub=uniq("alice"), scope="/up/")
    snap = Snapshot(srv.store("other"), srv.store("up"), srv.spool)
    r = raw_request(srv.port, "POST", path,
                    {"Tus-Resumable": "1.0.0", "Upload-Length": "10",
                     "Authorization": "Bearer " + tok})
    # 405: a POST on something that is not the endpoint
    assert r.status in (400, 403, 404, 405), (path, r.status, r.headers,
                                              r.body)
    snap.assert_same()


@pytest.mark.parametrize("path", ["/up/../other/%s", "/up/%%2e%%2e/other/%s",
                                  "/up/..%%2fother/%s", "/up/./../other/%s"])
def test_scope_path_tricks_on_an_upload(srv, ks, path):
    """a token for /up/ never reads or writes an upload of /other/"""
    sub = uniq("alice")
    owner = up(srv, ks.hs.mint(sub=sub, scope="/other/"), base="/other/")
    url, uid = owner.create_ok(100)
    assert owner.patch(url, 0, b"a" * 10).status_code == 204
    tok = ks.hs.mint(sub=sub, scope="/up/")
    hdr = {"Tus-Resumable": "1.0.0", "Authorization": "Bearer " + tok}
    snap = Snapshot(srv.store("other"), srv.spool)
    target = path % uid
    r = raw_request(srv.port, "HEAD", target, hdr)
    assert r.status in (400, 403, 404), (target, r.status, r.headers)
    assert "Upload-Offset" not in r.headers
    r = raw_request(srv.port, "PATCH", target,
                    dict(hdr, **{"Upload-Offset": "10",
                                 "Content-Type":
                                 "application/offset+octet-stream"}),
                    b"b" * 10)
    assert r.status in (400, 403, 404), (target, r.status, r.headers)
    r = raw_request(srv.port, "DELETE", target, hdr)
    assert r.status in (400, 403, 404), (target, r.status, r.headers)
    snap.assert_same()
    assert owner.offset(url) == 10


def test_scope_prefix_at_a_segment_boundary(srv, ks):
    tok = ks.hs.mint(sub=uniq("alice"), scope="/up")
    up(srv, tok).create_ok(10)                      # /up/ is below /up
    check_rejection(srv, lambda: up(srv, tok, base="/upx/").create(10), 403,
                    "scope", stores=("upx",))


# --------------------------------------------------------------------------
# max_size and types


def test_token_max_size(srv, ks):
    t = up(srv, ks.hs.mint(sub=uniq("ms"), max_size=1000))
    snap = Snapshot(srv.store("up"), srv.spool)
    cur = LogCursor(srv)
    r = t.create(1001)
    assert r.status_code == 413, (r.status_code, r.text)
    snap.assert_same()
    wait_log(cur, r"Upload-Length 1001 above the token's max_size 1000",
             level="info")
    # creation-with-upload: the same limit
    r = t.create(1001, body=b"x" * 10)
    assert r.status_code == 413, (r.status_code, r.text)
    snap.assert_same()
    url, uid = t.create_ok(1000)
    # deferred length: set by a PATCH, the token's limit holds
    durl, duid = t.create_ok(defer=True)
    snap = Snapshot(srv.store("up"), srv.spool)
    r = t.patch(durl, 0, b"y" * 10, headers={"Upload-Length": "1001"})
    assert r.status_code == 413, (r.status_code, r.text)
    snap.assert_same()
    r = t.patch(durl, 0, b"y" * 10, headers={"Upload-Length": "1000"})
    assert r.status_code == 204, (r.status_code, r.text)


def test_location_limit_below_token_max_size(srv, ks):
    """the limit is min(token max_size, tus_max_size)"""
    t = up(srv, ks.hs.mint(sub=uniq("ms"), max_size=10 * MiB), base="/sized/")
    snap = Snapshot(srv.store("sized"), srv.spool)
    r = t.create(2 * MiB)
    assert r.status_code == 413, (r.status_code, r.text)
    snap.assert_same()
    t.create_ok(MiB)
    small = up(srv, ks.hs.mint(sub=uniq("ms"), max_size=100), base="/sized/")
    assert small.create(101).status_code == 413
    small.create_ok(100)


@pytest.mark.parametrize("types,declared,ok", [
    (["video/mp4"], {"filetype": "video/mp4"}, True),
    (["video/mp4"], {"contentType": "video/mp4"}, True),
    (["video/mp4"], {"filetype": "video/mp4; codecs=\"avc1.64001f\""}, True),
    (["video/mp4", "video/webm"], {"filetype": "video/webm"}, True),
    (["video/*"], {"filetype": "video/webm"}, True),
    (["video/mp4"], {"filetype": "video/webm"}, False),
    (["video/mp4"], {"filename": "clip.mp4"}, False),
    (["video/mp4"], None, False),
    (["video/mp4"], {"filetype": "video/mp4x"}, False),
    (["video/*"], {"filetype": "audio/mpeg"}, False),
    (["video/*"], {"filetype": "videos/mp4"}, False),
])
def test_token_types(srv, ks, types, declared, ok):
    t = up(srv, ks.hs.mint(sub=uniq("ty"), types=types))
    snap = Snapshot(srv.store("up"), srv.spool)
    cur = LogCursor(srv)
    r = t.create(10, metadata=declared)
    if ok:
        assert r.status_code == 201, (r.status_code, r.text)
        return
    assert r.status_code == 415, (r.status_code, r.text)
    snap.assert_same()
    wait_log(cur, r"not allowed by the token", level="info")


def test_size_and_type_rejections_are_counted(srv, ks):
    """the brief: every token rejection, 413/415 included, is counted in
    ingest_auth_failures_total{reason=...}"""
    m0 = srv.metrics()
    r = up(srv, ks.hs.mint(sub=uniq("ms"), max_size=10)).create(11)
    assert r.status_code == 413
    r = up(srv, ks.hs.mint(sub=uniq("ty"), types=["video/mp4"])).create(
        10, metadata={"filetype": "video/webm"})
    assert r.status_code == 415
    m1 = srv.metrics()
    d0, d1 = auth_failures(m0), auth_failures(m1)
    deltas = {k: d1.get(k, 0) - d0.get(k, 0) for k in d1}
    assert sum(deltas.values()) == 2, (
        "a 413 (token max_size) and a 415 (token types) should count in "
        "ingest_auth_failures_total; deltas %r" % deltas)


# --------------------------------------------------------------------------
# the deny list


def test_deny_list_edit_takes_effect_without_reload(srv, ks, deny_file):
    sub = uniq("rev")
    jti = uniq("jti")
    tok = ks.hs.mint(sub=sub, jti=jti)
    other = ks.ed.mint(sub=sub)
    t = up(srv, tok)
    url, uid = t.create_ok(100)
    assert t.head(url).status_code == 200
    workers = set(srv.worker_pids())
    cur = LogCursor(srv)

    with open(deny_file, "a") as f:          # edited in place
        f.write("jti %s\n" % jti)

    def refused():
        r = t.head(url)
        # (a Response is falsy when not ok)
        return [r] if r.status_code == 401 else None

    r, = wait_until(refused, timeout=10, interval=0.2,
                    what="the edited deny list to refuse jti %s" % jti)
    assert 'error_description="revoked"' in www_auth(r), www_auth(r)
    wait_deny_reloads(srv, cur)
    # only that token: another of the same subject is good
    assert up(srv, other).head(url).status_code == 200
    # each worker read it (no reload, same processes)
    for _ in range(10):
        assert t.head(url).status_code == 401
    assert set(srv.worker_pids()) == workers

    # every token of the subject
    cur = LogCursor(srv)
    with open(deny_file, "a") as f:
        f.write("sub %s\n" % sub)
    wait_deny_reloads(srv, cur)
    assert up(srv, other).head(url).status_code == 401
    snap = Snapshot(srv.store("up"), srv.spool)
    assert up(srv, other).patch(url, 0, b"z" * 10).status_code == 401
    assert up(srv, ks.hs.mint(sub=sub)).create(10).status_code == 401
    snap.assert_same()

    # replaced by the original list (a new inode): good again
    cur = LogCursor(srv)
    tmp = deny_file.with_suffix(".new")
    tmp.write_text(DENY_LIST)
    os.rename(tmp, deny_file)
    wait_deny_reloads(srv, cur)
    assert t.head(url).status_code == 200
    assert up(srv, other).head(url).status_code == 200


def test_broken_deny_list_keeps_the_previous_one(tmp_path_factory, ks,
                                                 nginx_factory):
    prefix = tmp_path_factory.mktemp("denylist")
    conf = token_conf(prefix, ks, deny_list="jti r-old\n")
    # the [emerg] of the refused reload is expected, in this instance only
    srv = nginx_factory(conf=conf, allowed=(
        r"\[emerg\].*invalid line 3 in token deny list",))
    deny = prefix / "revoked.txt"
    good = up(srv, ks.hs.mint(sub="bl", jti="j-good"))
    old = up(srv, ks.hs.mint(sub="bl", jti="r-old"))
    good.create_ok(10)
    assert old.create(10).status_code == 401

    # broken while running: the workers keep the list they have
    cur = LogCursor(srv)
    deny.write_text("jti r-old\njti j-good\nthis is not a valid line\n")
    wait_log(cur, r"token deny list .* has an invalid line 3, the previous "
                  r"list stays in force", level="error", timeout=10)
    good.create_ok(10)
    assert old.create(10).status_code == 401

    workers = set(srv.worker_pids())
    conf_path = prefix / "conf" / "nginx.conf"

    # `nginx -s reload` checks the configuration first and refuses
    p = subprocess.run([NGINX, "-p", str(prefix), "-c", str(conf_path),
                        "-e", str(prefix / "signal-error.log"),
                        "-s", "reload"],
                       capture_output=True, text=True, timeout=60,
                       env=sanitizer_env(conf.module))
    out = p.stdout + p.stderr + (prefix / "signal-error.log").read_text(
        errors="replace")
    assert p.returncode != 0, out
    assert re.search(r"invalid line 3 in token deny list", out), out

    # SIGHUP to the master: the reload fails with [emerg], the old
    # configuration and workers stay
    os.kill(srv.master_pid, signal.SIGHUP)
    wait_log(cur, r"invalid line 3 in token deny list", level="emerg",
             timeout=20)
    time.sleep(0.5)
    assert srv.health_problem() is None
    assert set(srv.worker_pids()) == workers
    good.create_ok(10)
    assert old.create(10).status_code == 401

    # fixed: the reload goes through and the new list counts
    deny.write_text("jti r-old\njti j-good\n")
    srv.reload()
    assert good.create(10).status_code == 401
    up(srv, ks.hs.mint(sub="bl", jti="j-new")).create_ok(10)


# --------------------------------------------------------------------------
# key rotation


def test_key_rotation(tmp_path_factory, ks, nginx_factory):
    prefix = tmp_path_factory.mktemp("rotation")
    keys = tmp_path_factory.mktemp("rotkeys")
    a = HSKey("2026-11")
    b = EdKey("2026-12")
    (keys / "a.key").write_bytes(a.secret)
    (keys / "b.pub").write_bytes(b.public_pem())
    key_a = "ingest_token_key 2026-11 HS256 %s;" % (keys / "a.key")
    key_b = "ingest_token_key 2026-12 EdDSA %s;" % (keys / "b.pub")
    c = Conf(prefix)
    c.location("= /metrics", "ingest_metrics;")
    tus_location(c, "/rot/", "rot", "tus_max_size 1g;", key_a, key_b)
    create_dirs(c)
    srv = nginx_factory(conf=c)

    sub = uniq("rot")
    ta = AuthTus(srv, "/rot/", a.mint(sub=sub))
    tb = AuthTus(srv, "/rot/", b.mint(sub=sub))
    data = payload(2000, 9)
    url, uid = ta.create_ok(len(data))
    assert ta.patch(url, 0, data[:1000]).status_code == 204
    tb.create_ok(10)
    assert tb.head(url).status_code == 200

    # the old key is removed
    spec, directives = c.locations[-1]
    c.locations[-1] = (spec, [d for d in directives if d != key_a])
    c.write()
    srv.reload()
    m0 = srv.metrics()
    r = ta.create(10)
    assert r.status_code == 401, r.status_code
    assert 'error_description="unknown_kid"' in www_auth(r)
    assert ta.head(url).status_code == 401
    assert metric_delta(m0, srv.metrics(), "ingest_auth_failures_total",
                        reason="unknown_kid") == 2
    # the upload made with the old key goes on with the new one
    assert tb.patch(url, 1000, data[1000:]).status_code == 204
    assert (srv.store("rot") / uid).read_bytes() == data
    tb.create_ok(10)


# --------------------------------------------------------------------------
# ownership


def test_upload_belongs_to_its_subject(srv, ks):
    alice_sub, bob_sub = uniq("alice"), uniq("bob")
    alice = up(srv, ks.hs.mint(sub=alice_sub))
    alice2 = up(srv, ks.ed.mint(sub=alice_sub))     # another token, same sub
    bob = up(srv, ks.hs.mint(sub=bob_sub))
    data = payload(4000, 11)
    url, uid = alice.create_ok(len(data))
    assert alice.patch(url, 0, data[:1000]).status_code == 204

    for send in (lambda: bob.head(url),
                 lambda: bob.patch(url, 1000, data[1000:2000]),
                 lambda: bob.get(url),
                 lambda: bob.delete(url)):
        r = check_rejection(srv, send, 403, "other_subject",
                            log_pattern=r"belongs to another subject")
        if r.request.method != "HEAD":
            assert "the upload belongs to another subject" in r.text, r.text
    assert alice.offset(url) == 1000

    assert alice2.patch(url, 1000, data[1000:]).status_code == 204
    r = check_rejection(srv, lambda: bob.get(url), 403, "other_subject",
                        log_pattern=r"belongs to another subject")
    g = alice.get(url)
    assert g.status_code == 200 and g.content == data
    check_rejection(srv, lambda: bob.delete(url), 403, "other_subject",
                    log_pattern=r"belongs to another subject")
    assert alice.delete(url).status_code == 204
    assert alice.head(url).status_code in (404, 410)


def test_concatenation_only_of_the_subjects_own_parts(srv, ks):
    """a final upload is a request on its parts: another subject's
    partial uploads cannot be concatenated (and so read)"""
    alice = up(srv, ks.hs.mint(sub=uniq("alice")))
    bob = up(srv, ks.hs.mint(sub=uniq("bob")))
    r = alice.create(5, concat="partial")
    assert r.status_code == 201, (r.status_code, r.text)
    pid = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert alice.patch(alice.url_of(pid), 0, b"SECRT").status_code == 204
    snap = Snapshot(srv.store("up"), srv.spool)
    r = bob.create(concat="final;/up/%s" % pid)
    leaked = None
    if r.status_code == 201:
        fid = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        leaked = bob.get(bob.url_of(fid)).content
    assert r.status_code in (400, 403, 404), (
        "another subject concatenated alice's part: %s, GET gave %r"
        % (r.status_code, leaked))
    snap.assert_same()
    r = alice.create(concat="final;/up/%s" % pid)
    assert r.status_code == 201, (r.status_code, r.text)
    fid = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert alice.get(alice.url_of(fid)).content == b"SECRT"


@pytest.mark.parametrize("sub", ["alice smith", "jos\u00e9", "-", "a" * 300,
                                 "x\ty"])
def test_unusual_subjects(srv, ks, sub):
    """any JWT subject either works (and owns its upload) or is refused
    cleanly; never a 500, never an upload without an owner"""
    t = up(srv, ks.hs.mint(sub=sub))
    snap = Snapshot(srv.store("up"), srv.spool)
    r = t.create(100)
    if r.status_code != 201:
        assert r.status_code in (400, 401, 403), (r.status_code, r.text)
        snap.assert_same()
        return
    url = r.headers["Location"]
    assert t.head(url).status_code == 200
    stranger = up(srv, ks.hs.mint(sub=uniq("stranger")))
    r = stranger.head(url)
    assert r.status_code == 403, (
        "subject %r: another subject got %s on its upload"
        % (sub, r.status_code))


def test_forged_log_lines_in_claims(srv, ks):
    """claims of a rejected token end up in the log line: no injection"""
    evil = "x\n2030/01/01 00:00:00 [alert] 1#1: forged"
    before = LogCursor(srv)
    for tok in (_tamper_sig(ks.hs.mint(sub=evil)),
                _tamper_sig(ks.hs.mint(sub="ok", jti=evil)),
                mint(HSKey(evil, ks.hs.secret), claims(sub="a"))):
        r = up(srv, tok).create(10)
        assert r.status_code == 401, r.status_code
    assert not [l for l in before.lines() if "forged" in l
                and not re.match(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[info\]",
                                 l)], before.text()


# --------------------------------------------------------------------------
# sessions: /sess/ has leeway 0, idle 5 s, max 60 s


def short_token(ks, sub, ttl, key=None):
    """a token that expires in ttl seconds; returns (token, exp)"""
    now = _now()
    tok = (key or ks.hs).mint(sub=sub, now=now, ttl=ttl)
    return tok, now + ttl


def wait_expired(exp):
    # leeway 0: refused once now > exp, in whole seconds
    sleep_until(exp + 1.05)


def test_session_expired_token_finishes_its_upload(srv, ks):
    sub = uniq("sess")
    tok, exp = short_token(ks, sub, 3)
    t = up(srv, tok, base="/sess/")
    data = payload(300 * KiB, 21)
    url, uid = t.create_ok(len(data), metadata={"filename": "s.mp4"})
    assert t.patch(url, 0, data[:100 * KiB]).status_code == 204

    wait_expired(exp)
    # it really expired: no new upload with it
    r = check_rejection(srv, lambda: t.create(10), 401, "expired",
                        stores=("sess",))
    # but its upload goes on while bytes keep arriving
    r = t.patch(url, 100 * KiB, data[100 * KiB:150 * KiB])
    assert r.status_code == 204, (r.status_code, r.text)
    # sessions hold across a reload
    srv.reload()
    r = t.patch(url, 150 * KiB, data[150 * KiB:200 * KiB])
    assert r.status_code == 204, (r.status_code, r.text)
    assert t.head(url).headers["Upload-Offset"] == str(200 * KiB)
    r = t.patch(url, 200 * KiB, data[200 * KiB:])
    assert r.status_code == 204, (r.status_code, r.text)
    job = srv.wait_job(uid)
    assert job["owner"] == sub
    assert job["size"] == len(data)
    assert sha256_file(job["source"]) == sha256(data)
    # $upload_token_status says so in the access log
    log = srv.prefix / "token.log"
    wait_until(lambda: [l for l in read_lines(log)
                        if l.startswith(sub + "|session|")
                        and "|PATCH|/sess/%s|204" % uid in l],
               timeout=10, what="a session PATCH in token.log")


def test_session_only_for_the_upload_the_token_created(srv, ks):
    """docs/directives.md: an expired token is accepted "for requests on
    the upload it created"; not on other uploads of its subject"""
    sub = uniq("sess")
    tok, exp = short_token(ks, sub, 2)
    t = up(srv, tok, base="/sess/")
    mine_url, mine = t.create_ok(100)
    assert t.patch(mine_url, 0, b"m" * 10).status_code == 204
    other = up(srv, ks.hs.mint(sub=sub), base="/sess/")
    theirs_url, theirs = other.create_ok(100)
    assert other.patch(theirs_url, 0, b"o" * 10).status_code == 204
    bob_tok, _ = short_token(ks, uniq("bob"), 2)
    bob = up(srv, bob_tok, base="/sess/")

    wait_expired(exp)
    assert t.patch(mine_url, 10, b"m" * 10).status_code == 204
    snap = Snapshot(srv.store("sess"), srv.spool)
    r = bob.patch(mine_url, 20, b"b" * 10)
    assert r.status_code == 403, (r.status_code, r.text)
    r = t.patch(theirs_url, 10, b"m" * 10)
    assert r.status_code == 401, (
        "an expired token was accepted on an upload it did not create: "
        "%s %r" % (r.status_code, r.text))
    snap.assert_same()


def test_session_idle_ends_it(srv, ks):
    sub = uniq("idle")
    tok, exp = short_token(ks, sub, 2)
    t = up(srv, tok, base="/sess/")
    url, uid = t.create_ok(1000)
    assert t.patch(url, 0, b"a" * 100).status_code == 204
    wait_expired(exp)
    sent = time.time()
    assert t.patch(url, 100, b"b" * 100).status_code == 204

    m0 = srv.metrics()
    cur = LogCursor(srv)

    def refused():
        r = t.head(url)
        assert r.status_code in (200, 401), r.status_code
        # (a Response is falsy when not ok)
        return [r] if r.status_code == 401 else None

    r, = wait_until(refused, timeout=25, interval=0.25,
                    what="the idle session to end")
    # never before the idle time (5 s) since the last byte
    assert time.time() - sent >= 4.5, time.time() - sent
    assert www_auth(r).startswith('Bearer realm="ingest"')
    wait_log(cur, r"session is over", level="info")
    assert metric_delta(m0, srv.metrics(), "ingest_auth_failures_total",
                        reason="session_over") == 1

    snap = Snapshot(srv.store("sess"), srv.spool)
    r = t.patch(url, 200, b"c" * 100)
    assert r.status_code == 401, r.status_code
    assert "session is over" in r.text, r.text
    snap.assert_same()
    assert t.create(10).status_code == 401

    # a fresh token of the subject goes on
    fresh = up(srv, ks.ed.mint(sub=sub), base="/sess/")
    assert fresh.patch(url, 200, b"c" * 800).status_code == 204
    assert srv.wait_job(uid)["size"] == 1000


def test_session_absolute_cap(srv, ks):
    """/smax/: idle 1h, max 4 s"""
    sub = uniq("cap")
    tok, exp = short_token(ks, sub, 1)
    created = time.time()
    t = up(srv, tok, base="/smax/")
    url, uid = t.create_ok(1000)
    assert t.patch(url, 0, b"a" * 10).status_code == 204
    wait_expired(exp)
    off = 10
    while True:
        snap = Snapshot(srv.store("smax"))
        r = t.patch(url, off, b"b")
        if r.status_code != 204:
            break
        off += 1
        assert time.time() - created < 30, "the session never ended"
        time.sleep(0.25)
    assert r.status_code == 401, (r.status_code, r.text)
    snap.assert_same()
    assert time.time() - created >= 3.5
    assert off > 10, "the session did not work at all"
    fresh = up(srv, ks.hs.mint(sub=sub), base="/smax/")
    assert fresh.patch(url, off, b"c" * (1000 - off)).status_code == 204


def test_session_of_a_revoked_subject_ends(srv, ks, deny_file):
    sub = uniq("rs")
    tok, exp = short_token(ks, sub, 2)
    t = up(srv, tok, base="/sess/")
    url, uid = t.create_ok(1000)
    assert t.patch(url, 0, b"a" * 100).status_code == 204
    wait_expired(exp)
    assert t.patch(url, 100, b"a" * 100).status_code == 204
    cur = LogCursor(srv)
    with open(deny_file, "a") as f:
        f.write("sub %s\n" % sub)
    wait_deny_reloads(srv, cur)
    assert t.head(url).status_code == 401
    snap = Snapshot(srv.store("sess"), srv.spool)
    r = t.patch(url, 200, b"a" * 100)
    assert r.status_code == 401
    assert 'error_description="revoked"' in www_auth(r), www_auth(r)
    snap.assert_same()


def test_no_sessions_outside_tus(srv, ks):
    sub = uniq("plain")
    r = requests.get(srv.url("/plain/hello.txt"),
                     headers=bearer(ks.hs.mint(sub=sub, scope="/plain/")),
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.text == "hello\n"
    assert r.headers.get("X-Sub") == sub
    assert r.headers.get("X-Token-Status") == "ok"
    # expired (with iat, beyond leeway): no session to fall back on
    old = ks.hs.mint(sub=sub, now=_now() - 400, ttl=280)
    r = check_rejection(
        srv, lambda: requests.get(srv.url("/plain/hello.txt"),
                                  headers=bearer(old), timeout=HTTP_TIMEOUT),
        401, "expired", stores=())
    assert 'error_description="expired"' in www_auth(r)
    r = check_rejection(
        srv, lambda: requests.get(srv.url("/plain/hello.txt"),
                                  timeout=HTTP_TIMEOUT),
        401, "missing", stores=(), log_pattern="token missing")
    # scope applies to any location
    r = requests.get(srv.url("/plain/hello.txt"),
                     headers=bearer(ks.hs.mint(sub=sub, scope="/up/")),
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 403


# --------------------------------------------------------------------------
# variables


def test_token_variables_in_the_access_log(srv, ks):
    sub = uniq("logged")
    jti = uniq("j")
    t = up(srv, ks.ed.mint(sub=sub, jti=jti, scope="/up/"))
    url, uid = t.create_ok(10)
    up(srv).create(10)
    up(srv, _tamper_sig(ks.hs.mint(sub=sub))).create(10)
    log = srv.prefix / "token.log"
    want = [
        "%s|ok|ed1|%s|/up/|POST|/up/|201" % (sub, jti),
        "-|missing|-|-|-|POST|/up/|401",
        "-|bad_signature|-|-|-|POST|/up/|401",
    ]

    def found():
        lines = read_lines(log)
        return all(w in lines for w in want)

    try:
        wait_until(found, timeout=10, what="token.log lines")
    except AssertionError:
        raise AssertionError("want %r in the last lines of token.log:\n%s"
                             % (want, "\n".join(read_lines(log)[-20:])))


# --------------------------------------------------------------------------
# tus-js-client


def run_node(*args, timeout=120, expect_rc=0):
    if not (JS_DIR / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("t/js/node_modules is missing: run `npm ci` in t/js "
                    "(scripts/run-integration.sh does)", pytrace=False)
    p = subprocess.run([NODE, str(JS_SCRIPT)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=str(JS_DIR))
    events = [json.loads(l) for l in p.stdout.splitlines()
              if l.strip().startswith("{")]
    assert p.returncode == expect_rc, (p.returncode, p.stdout[-3000:],
                                       p.stderr[-3000:])
    return events


def test_tus_js_client_token_expires_mid_upload(srv, ks, tmp_path):
    sub = uniq("js")
    data = big_payload(MiB + 777, 31)
    src = tmp_path / "clip.bin"
    src.write_bytes(data)
    tok, exp = short_token(ks, sub, 4, key=ks.ed)
    events = run_node("--endpoint", srv.url("/sessjs/"), "--file", src,
                      "--token", tok, "--chunk-size", 64 * KiB,
                      "--hold-until", exp + 1.5,
                      "--meta", "filename=clip.mp4",
                      "--meta", "filetype=video/mp4")
    done = [e for e in events if e["event"] == "success"]
    assert done, events[-5:]
    url = done[-1]["url"]
    uid = url.rstrip("/").rsplit("/", 1)[1]
    patches = [e for e in events if e["event"] == "patch"]
    late = [e for e in patches if e["at"] > exp + 1]
    assert len(late) >= 10, patches
    assert sha256_file(srv.store("sessjs") / uid) == sha256(data)
    job = srv.wait_job(uid)
    assert job["owner"] == sub and job["size"] == len(data)
    assert job["metadata"].get("filename") == "clip.mp4"
    # the server saw the expired token, in session
    log = srv.prefix / "token.log"
    def lines():
        found = [l for l in read_lines(log) if l.startswith(sub + "|")]
        return found if len(found) >= len(patches) + 1 else None

    found = wait_until(lines, timeout=10, what="the upload in token.log")
    assert any("|POST|/sessjs/|201" in l and l.split("|")[1] == "ok"
               for l in found), found
    statuses = [l.split("|")[1] for l in found
                if "|PATCH|/sessjs/%s|204" % uid in l]
    assert statuses.count("session") >= len(late), found


def test_tus_js_client_with_a_bad_token(srv, ks, tmp_path):
    src = tmp_path / "x.bin"
    src.write_bytes(payload(1000, 5))
    snap = Snapshot(srv.store("sessjs"), srv.spool)
    events = run_node("--endpoint", srv.url("/sessjs/"), "--file", src,
                      "--token", _tamper_sig(ks.hs.mint(sub="js")),
                      "--no-retry", expect_rc=1)
    err = [e for e in events if e["event"] == "error"]
    assert err and err[-1]["status"] == 401, events
    snap.assert_same()
