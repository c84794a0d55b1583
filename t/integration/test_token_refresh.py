"""
The token refresh endpoint (`ingest_token_refresh kid alg file`, see
docs/directives.md "ingest_token_refresh"): POST or GET with the current
token (Authorization: Bearer, or ?token=) answers 200
{"token": "...", "expires": <unix>} with Cache-Control: no-store.

What the handler (ngx_http_ingest_token_refresh_handler) promises and what
is checked here:

- the new token is signed with the directive's kid/alg (HS256 secret, or
  an Ed25519 private key in PEM), whatever signed the old one; it verifies
  with our own Python (hmac / python3-cryptography), never the module's;
- it keeps sub, aud, scope, max_size, types and jti; iat = now;
  nbf = anchor (the old nbf, else the old iat); exp = min(now + old
  lifetime (exp - iat, 1800 without iat, at most session_max),
  anchor + ingest_token_session_max);
- the refresh URL itself is not scope-checked, but the new token keeps the
  old scope (a tus location outside it answers 403);
- an expired token is refreshed while anchor + session_max is not past, so
  a chain of refreshes ends session_max after the first token (401 after);
- missing / tampered / wrong audience / revoked (jti or sub, also edited
  live) tokens get 401 (403 for the audience) in the access phase;
  methods other than POST and GET get 405.

The error-log guard of conftest.py fails a test that made nginx write
[alert]/[crit]/[emerg] (a signing failure is an [alert]).
"""

import hmac
import os
import time
import uuid

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from harness import (HTTP_TIMEOUT, Conf, NginxServer, HarnessError,
                     wait_until)
from tokens import (KeySet, AuthTus, LogCursor, Snapshot, auth_failures,
                    bearer, claims, mint, json_part, split,
                    b64url_decode, hs256_sign, header_of, claims_of,
                    flip_char, tus_location, create_dirs, sleep_until,
                    wait_log)


DENY_LIST = """\
jti refresh-revoked-jti
sub mallory
"""

SHORT_MAX = 6           # ingest_token_session_max of /token/short
DEFAULT_MAX = 86400     # the directive's default (24h)

# claims a refreshed token may carry (docs: "same subject, audience, scope
# and limits"; jti kept so that revoking it ends the chain)
KNOWN = {"sub", "aud", "scope", "max_size", "types", "jti", "iat", "nbf",
         "exp"}


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def now():
    return int(time.time())


# --------------------------------------------------------------------------
# the server


def refresh_conf(prefix, ks, ed_private):
    c = Conf(prefix)
    c.prefix.mkdir(parents=True, exist_ok=True)
    revoked = c.prefix / "revoked.txt"
    revoked.write_text(DENY_LIST)
    c.http += ["tus_cleanup_interval 1s;",
               "ingest_token_revoked %s;" % revoked]
    # server level: every key of the KeySet (tus locations inherit them)
    c.server += ks.directives()
    tus_location(c, "/up/", "up", "tus_max_size 1g;")
    tus_location(c, "/other/", "other", "tus_max_size 1g;")
    # leeway 0: a token is refused (outside its upload's session) as soon
    # as it expired
    tus_location(c, "/up0/", "up0", "tus_max_size 1g;",
                 "ingest_token_leeway 0;")

    hs_key = ks.directive(ks.hs)
    ed_key = ks.directive(ks.ed)
    hs_refresh = "ingest_token_refresh %s HS256 %s;" % (ks.hs.kid,
                                                        ks.path(ks.hs))
    ed_refresh = "ingest_token_refresh %s EdDSA %s;" % (ks.ed.kid,
                                                        ed_private)
    # as docs/directives.md shows it: the location's own key + refresh
    c.location("= /token/refresh", "ingest_token on;", hs_key, hs_refresh)
    c.location("= /token/refresh-ed", "ingest_token on;", ed_key,
               ed_refresh)
    # keys inherited from the server (all four), signs with ed1: an HS256
    # token in, an EdDSA token out (rotation from one to the other)
    c.location("= /token/refresh-any", "ingest_token on;", ed_refresh)
    # a short session for the end-of-chain tests
    c.location("= /token/short", "ingest_token on;", hs_key, hs_refresh,
               "ingest_token_leeway 0;",
               "ingest_token_session_max %ds;" % SHORT_MAX)
    c.location("= /metrics", "ingest_metrics;")
    create_dirs(c)
    return c


@pytest.fixture(scope="module")
def ks(tmp_path_factory):
    return KeySet(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def ed_private(ks):
    """ed1's private key as PKCS#8 PEM (the refresh signing key)"""
    path = ks.dir / "ed1.key"
    path.write_bytes(ks.ed.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def srv(tmp_path_factory, ks, ed_private):
    s = NginxServer(refresh_conf(tmp_path_factory.mktemp("refresh"), ks,
                                 ed_private))
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
    n = len(srv.worker_pids())
    wait_until(lambda: len(cur.find(r"token deny list .* reloaded",
                                    level="info")) >= n,
               timeout=timeout, interval=0.1,
               what="%d workers to re-read the deny list" % n)


# --------------------------------------------------------------------------
# helpers


def refresh(srv, path, token=None, method="POST", arg=False, headers=None,
            session=None, **kw):
    h = dict(headers or {})
    params = None
    if token is not None:
        if arg:
            params = {"token": token}
        else:
            h.update(bearer(token))
    return (session or requests).request(
        method, srv.url(path), headers=h, params=params,
        timeout=HTTP_TIMEOUT, allow_redirects=False, **kw)


def refresh_ok(srv, path, token, **kw):
    """a refresh that must work; returns (new token, its claims)"""
    before = now()
    r = refresh(srv, path, token, **kw)
    after = now()
    assert r.status_code == 200, (r.status_code, r.text, dict(r.headers))
    assert r.headers.get("Cache-Control") == "no-store", dict(r.headers)
    assert r.headers.get("Content-Type", "").split(";")[0] == \
        "application/json", dict(r.headers)
    body = r.json()
    assert set(body) == {"token", "expires"}, body
    assert isinstance(body["token"], str) and isinstance(
        body["expires"], int), body
    new = body["token"]
    c = claims_of(new)
    assert set(c) <= KNOWN, c
    assert c["exp"] == body["expires"], (c, body)
    assert before <= c["iat"] <= after, (before, c["iat"], after)
    return new, c


def verify_independently(token, key):
    """our own JWS check: HS256 with hmac, EdDSA with python3-cryptography
    and the public PEM that nginx was given"""
    h, p, s = split(token)
    for part in (h, p, s):
        assert "=" not in part, "base64url with padding: %r" % token
    signing_input = ("%s.%s" % (h, p)).encode()
    sig = b64url_decode(s)
    if key.alg == "HS256":
        assert hmac.compare_digest(sig, hs256_sign(key.secret,
                                                   signing_input)), \
            "HS256 signature of the refreshed token does not verify"
    else:
        pub = serialization.load_pem_public_key(key.public_pem())
        try:
            pub.verify(sig, signing_input)
        except InvalidSignature:
            raise AssertionError("EdDSA signature of the refreshed token "
                                 "does not verify")
    assert header_of(token) == {"alg": key.alg, "typ": "JWT",
                                "kid": key.kid}, header_of(token)


def aud_list(aud):
    return [aud] if isinstance(aud, str) else list(aud or [])


def check_claims(old, new, session_max):
    """the handler's rules, computed from the old claims and the new iat"""
    for k in ("sub", "scope", "max_size", "types", "jti"):
        assert new.get(k) == old.get(k), (k, old, new)
    assert aud_list(new.get("aud")) == aud_list(old.get("aud")), (old, new)
    anchor = old.get("nbf") or old.get("iat")
    ttl = (old["exp"] - old["iat"]
           if old.get("iat") and old["exp"] > old["iat"] else 1800)
    ttl = min(ttl, session_max)
    assert new["nbf"] == anchor, (old, new)
    assert new["exp"] == min(new["iat"] + ttl, anchor + session_max), (
        "exp of the refreshed token: want min(iat %d + ttl %d, anchor %d + "
        "session_max %d); old %r new %r"
        % (new["iat"], ttl, anchor, session_max, old, new))


def www_auth(r):
    return r.headers.get("WWW-Authenticate", "")


def refused(srv, send, status, reason, log_pattern=None, metric=True,
            challenge=True):
    """send() must be refused with status (no token in the answer), the
    reason logged at info and counted in ingest_auth_failures_total; a 401
    carries `WWW-Authenticate: Bearer realm="ingest"...` unless
    challenge=False (see test_session_over_answer_has_www_authenticate)"""
    cur = LogCursor(srv)
    m0 = srv.metrics()
    r = send()
    assert r.status_code == status, (r.status_code, r.text, dict(r.headers))
    assert '"token"' not in r.text, r.text
    if status == 401 and challenge:
        assert www_auth(r).startswith('Bearer realm="ingest"'), \
            dict(r.headers)
    wait_log(cur, log_pattern or reason, level="info")
    if metric:
        d0, d1 = auth_failures(m0), auth_failures(srv.metrics())
        delta = d1.get(reason, 0) - d0.get(reason, 0)
        assert delta == 1, (reason, {k: d1[k] - d0.get(k, 0) for k in d1
                                     if d1[k] != d0.get(k, 0)})
    return r


def tus(srv, token, base="/up/"):
    return AuthTus(srv, base, token)


# --------------------------------------------------------------------------
# a refresh and what the new token is good for


def test_hs256_refresh_keeps_the_claims_and_works_for_tus(srv, ks):
    sub = uniq("alice")
    t0 = now()
    old_claims = claims(sub=sub, ttl=600, now=t0 - 100, scope="/up/",
                        max_size=1000, types=["video/mp4"],
                        aud=["player", "upload"])
    old = mint(ks.hs, old_claims)
    # an upload made with the old token
    data = b"v" * 1000
    url, uid = tus(srv, old).create_ok(
        len(data), metadata={"filetype": "video/mp4"})
    assert tus(srv, old).patch(url, 0, data[:300]).status_code == 204

    cur = LogCursor(srv)
    new, c = refresh_ok(srv, "/token/refresh", old)
    verify_independently(new, ks.hs)
    check_claims(old_claims, c, DEFAULT_MAX)
    # the lifetime of the old one from now (600 s), anchored at its iat
    assert c["exp"] == c["iat"] + 600 and c["nbf"] == t0 - 100, c
    assert c["scope"] == "/up/" and c["max_size"] == 1000
    assert c["types"] == ["video/mp4"] and c["jti"] == old_claims["jti"]
    wait_log(cur, r'token refreshed for "%s" until %d' % (sub, c["exp"]),
             level="info")

    t = tus(srv, new)
    # the same subject: the upload of the old token goes on with the new
    assert t.patch(url, 300, data[300:]).status_code == 204
    assert (srv.store("up") / uid).read_bytes() == data
    # a new upload, within the kept limits
    url2, uid2 = t.create_ok(1000, metadata={"filetype": "video/mp4"})
    assert (srv.store("up") / (uid2 + ".info")).exists()
    snap = Snapshot(srv.store("up"), srv.spool)
    r = t.create(1001, metadata={"filetype": "video/mp4"})
    assert r.status_code == 413, (r.status_code, r.text)
    r = t.create(10, metadata={"filetype": "video/webm"})
    assert r.status_code == 415, (r.status_code, r.text)
    snap.assert_same()
    # the scope is kept: not good outside /up/
    r = tus(srv, new, "/other/").create(10, metadata={"filetype":
                                                      "video/mp4"})
    assert r.status_code == 403, (r.status_code, r.text)


def test_eddsa_refresh(srv, ks):
    sub = uniq("ed")
    old_claims = claims(sub=sub, ttl=300, scope="/up/")
    old = mint(ks.ed, old_claims)
    new, c = refresh_ok(srv, "/token/refresh-ed", old)
    verify_independently(new, ks.ed)
    check_claims(old_claims, c, DEFAULT_MAX)
    t = tus(srv, new)
    url, uid = t.create_ok(20)
    assert t.patch(url, 0, b"e" * 20).status_code == 204
    assert (srv.store("up") / uid).read_bytes() == b"e" * 20
    assert tus(srv, new, "/other/").create(10).status_code == 403
    # a refreshed token refreshes again (EdDSA in, EdDSA out)
    newer, c2 = refresh_ok(srv, "/token/refresh-ed", new)
    verify_independently(newer, ks.ed)
    assert c2["nbf"] == old_claims["iat"] and c2["jti"] == c["jti"], c2
    tus(srv, newer).create_ok(5)


def test_signed_with_the_directives_key_not_the_old_tokens(srv, ks):
    """/token/refresh-any verifies with every server key, signs with ed1"""
    for key in (ks.hs, ks.hs_hex, ks.hs_b64):
        old_claims = claims(sub=uniq("rot"), ttl=120)
        new, c = refresh_ok(srv, "/token/refresh-any", mint(key, old_claims))
        verify_independently(new, ks.ed)
        check_claims(old_claims, c, DEFAULT_MAX)
        tus(srv, new).create_ok(5)
    # the HS256 endpoint has only hs1: others are unknown there
    refused(srv, lambda: refresh(srv, "/token/refresh",
                                 ks.ed.mint(sub=uniq("x"))),
            401, "unknown_kid")
    refused(srv, lambda: refresh(srv, "/token/refresh",
                                 ks.hs_hex.mint(sub=uniq("x"))),
            401, "unknown_kid")


@pytest.mark.parametrize("how", ["post-bearer", "get-bearer", "get-arg",
                                 "post-arg", "post-with-body"])
def test_post_and_get_bearer_and_query_argument(srv, ks, how):
    old_claims = claims(sub=uniq("m"), ttl=300, scope="/up/")
    old = mint(ks.hs, old_claims)
    method = "GET" if how.startswith("get") else "POST"
    kw = {"method": method, "arg": how.endswith("-arg")}
    s = requests.Session()
    if how == "post-with-body":
        # a body is read and dropped; the keep-alive connection goes on
        kw["data"] = b"x" * 5000
        kw["headers"] = {"Content-Type": "application/octet-stream"}
    new, c = refresh_ok(srv, "/token/refresh", old, session=s, **kw)
    verify_independently(new, ks.hs)
    check_claims(old_claims, c, DEFAULT_MAX)
    r = s.get(srv.url("/pid"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    # a second refresh on the same session/connection
    new2, _ = refresh_ok(srv, "/token/refresh", old, session=s, **kw)
    tus(srv, new2).create_ok(1)


def test_the_refresh_url_is_not_scope_checked(srv, ks):
    old_claims = claims(sub=uniq("sc"), ttl=300, scope="/other/")
    old = mint(ks.hs, old_claims)
    # the old token is no good on /up/ ...
    assert tus(srv, old).create(1).status_code == 403
    # ... nor on the refresh URL's path, which is still served
    new, c = refresh_ok(srv, "/token/refresh", old)
    assert c["scope"] == "/other/"
    assert tus(srv, new).create(1).status_code == 403
    tus(srv, new, "/other/").create_ok(1)


# --------------------------------------------------------------------------
# lifetimes and the session anchor (no waiting: minted in the past)


def test_anchor_is_nbf_when_present(srv, ks):
    t0 = now()
    old_claims = claims(sub=uniq("nbf"), now=t0 - 10, ttl=310,
                        nbf=t0 - 50)
    new, c = refresh_ok(srv, "/token/refresh", mint(ks.hs, old_claims))
    check_claims(old_claims, c, DEFAULT_MAX)
    assert c["nbf"] == t0 - 50, c
    assert c["exp"] == c["iat"] + 310, c


def test_without_iat_the_lifetime_is_1800(srv, ks):
    t0 = now()
    old_claims = claims(sub=uniq("noiat"), iat=False, ttl=60, nbf=t0 - 5)
    new, c = refresh_ok(srv, "/token/refresh", mint(ks.hs, old_claims))
    check_claims(old_claims, c, DEFAULT_MAX)
    assert c["exp"] == c["iat"] + 1800 and c["nbf"] == t0 - 5, c
    tus(srv, new).create_ok(1)


def test_without_iat_and_nbf_there_is_no_session(srv, ks):
    """no anchor: the handler refuses (docs: sessions need iat)"""
    tok = mint(ks.hs, claims(sub=uniq("noanchor"), iat=False, ttl=300))
    assert tus(srv, tok).create(1).status_code == 201   # a good token
    r = refresh(srv, "/token/refresh", tok)
    assert r.status_code == 401, (r.status_code, r.text)
    assert '"token"' not in r.text


def test_exp_is_capped_by_the_session_end(srv, ks):
    """/token/short: session_max 6 s"""
    t0 = now()
    # lifetime 300 s, capped to 6; the session ends at t0 - 3 + 6
    old_claims = claims(sub=uniq("cap"), now=t0 - 3, ttl=300)
    new, c = refresh_ok(srv, "/token/short", mint(ks.hs, old_claims))
    check_claims(old_claims, c, SHORT_MAX)
    assert c["exp"] == t0 - 3 + SHORT_MAX and c["nbf"] == t0 - 3, c
    verify_independently(new, ks.hs)


@pytest.mark.parametrize("anchor", ["iat", "nbf"])
def test_valid_token_after_the_session_end_is_refused(srv, ks, anchor):
    """a token that is still valid but whose session (anchor + 6 s) is over
    gets no new one: the chain cannot be restarted from it"""
    t0 = now()
    if anchor == "iat":
        c = claims(sub=uniq("over"), now=t0 - 10, ttl=300)
    else:
        c = claims(sub=uniq("over"), now=t0, ttl=300, nbf=t0 - 10)
    tok = mint(ks.hs, c)
    assert tus(srv, tok).create(1).status_code == 201    # a valid token
    refused(srv, lambda: refresh(srv, "/token/short", tok), 401,
            "session_over", log_pattern=r"token refresh refused for \"%s\": "
            r"session over" % c["sub"], challenge=False)


def test_expired_token_in_its_session_is_refreshed(srv, ks):
    """/token/refresh: leeway 30 s, session 24 h; expired 60 s ago"""
    t0 = now()
    old_claims = claims(sub=uniq("exp"), now=t0 - 100, ttl=40, scope="/up/")
    old = mint(ks.hs, old_claims)
    # expired for tus (leeway 30 s): no new upload with it
    assert tus(srv, old).create(1).status_code == 401
    new, c = refresh_ok(srv, "/token/refresh", old)
    check_claims(old_claims, c, DEFAULT_MAX)
    assert c["exp"] == c["iat"] + 40 and c["nbf"] == t0 - 100, c
    tus(srv, new).create_ok(1)


def test_expired_token_after_its_session_is_refused(srv, ks):
    t0 = now()
    tok = mint(ks.hs, claims(sub=uniq("gone"), now=t0 - 20, ttl=5))
    r = refused(srv, lambda: refresh(srv, "/token/short", tok), 401,
                "expired")
    assert 'error_description="expired"' in www_auth(r), www_auth(r)


# --------------------------------------------------------------------------
# a real chain: expired-but-in-session refreshes, then the end (~7 s)


def test_chain_of_refreshes_ends_at_the_session_max(srv, ks):
    sub = uniq("chain")
    # start on a second boundary so the waits below are whole seconds
    sleep_until(int(time.time()) + 1)
    t0 = now()
    old_claims = claims(sub=sub, now=t0, ttl=2, scope="/up0/")
    first = mint(ks.hs, old_claims)
    end = t0 + SHORT_MAX
    # an upload made with the first token, on a leeway-0 tus location
    up0 = tus(srv, first, "/up0/")
    data = b"c" * 300
    url, uid = up0.create_ok(len(data))
    assert up0.patch(url, 0, data[:100]).status_code == 204

    # past exp (leeway 0): refused by tus for new uploads, refreshed anyway
    sleep_until(t0 + 3.05)
    assert tus(srv, first, "/up0/").create(1).status_code == 401
    tok, c = refresh_ok(srv, "/token/short", first)
    verify_independently(tok, ks.hs)
    check_claims(old_claims, c, SHORT_MAX)
    assert c["nbf"] == t0 and c["exp"] <= end, c
    # the new token finishes the first token's upload and makes new ones
    t = tus(srv, tok, "/up0/")
    assert t.patch(url, 100, data[100:200]).status_code == 204
    t.create_ok(1)

    refreshes = 1
    chain = [first, tok]
    while True:
        # wait until the latest token expired too, then refresh with it
        sleep_until(c["exp"] + 1.05)
        sent = time.time()
        cur = LogCursor(srv)
        r = refresh(srv, "/token/short", tok)
        if r.status_code != 200:
            break
        assert sent < end + 1, (
            "refreshed at %.2f, after the session end %d" % (sent, end))
        body = r.json()
        prev = c
        tok = body["token"]
        c = claims_of(tok)
        verify_independently(tok, ks.hs)
        check_claims(prev, c, SHORT_MAX)
        assert c["nbf"] == t0 and c["exp"] <= end, c
        chain.append(tok)
        refreshes += 1
        assert refreshes < 10, "the chain never ended"

    assert r.status_code == 401, (r.status_code, r.text)
    wait_log(cur, r'token refresh refused for "%s": session over' % sub,
             level="info")
    # refused once the server's second is past anchor + session_max (the
    # client's clock is the server's: same host)
    assert sent >= end, "refused at %.2f, before the session end %d" % (
        sent, end)
    assert time.time() >= end + 1, "refused before the session end"
    # (normally 2: at t0+3 until t0+5, at t0+6 until t0+6)
    assert refreshes >= 1
    # every token of the chain is refused now, the first one too
    for old in chain:
        r = refresh(srv, "/token/short", old)
        assert r.status_code == 401, (r.status_code, r.text)
        assert '"token"' not in r.text
    # and a refreshed token still finishes the upload it continued
    fresh = tus(srv, ks.hs.mint(sub=sub, scope="/up0/"), "/up0/")
    assert fresh.patch(url, 200, data[200:]).status_code == 204
    assert (srv.store("up0") / uid).read_bytes() == data



def test_session_over_answer_has_www_authenticate(srv, ks):
    """RFC 7235 (and docs/directives.md: "A missing or bad token gets 401
    with WWW-Authenticate"): every 401 carries the challenge, the refresh
    endpoint's "session over" too"""
    t0 = now()
    tok = mint(ks.hs, claims(sub=uniq("www"), now=t0 - 10, ttl=300))
    r = refresh(srv, "/token/short", tok)
    assert r.status_code == 401, (r.status_code, r.text)
    assert www_auth(r).startswith('Bearer realm="ingest"'), (
        "401 without WWW-Authenticate: %r" % dict(r.headers))


# --------------------------------------------------------------------------
# refusals


def test_missing_token(srv, ks):
    for send in (lambda: refresh(srv, "/token/refresh"),
                 lambda: refresh(srv, "/token/refresh", method="GET"),
                 lambda: refresh(srv, "/token/refresh-ed",
                                 headers={"Authorization": "Bearer "}),
                 lambda: refresh(srv, "/token/refresh",
                                 headers={"Authorization": "Basic YTpi"})):
        r = refused(srv, send, 401, "missing", log_pattern="token missing")
        assert www_auth(r) == 'Bearer realm="ingest"', www_auth(r)


def _resigned_payload(token, **changes):
    """the payload changed, the old signature kept"""
    h, p, s = split(token)
    c = claims_of(token)
    c.update(changes)
    return "%s.%s.%s" % (h, json_part(c), s)


@pytest.mark.parametrize("path,key", [("/token/refresh", "hs"),
                                      ("/token/refresh-ed", "ed")])
def test_tampered_tokens(srv, ks, path, key):
    key = getattr(ks, key)
    good = key.mint(sub=uniq("tamper"), scope="/up/", ttl=300)
    h, p, s = split(good)
    cases = {
        "signature": "%s.%s.%s" % (h, p, flip_char(s, 3)),
        "scope widened": _resigned_payload(good, scope="/"),
        "exp extended": _resigned_payload(
            good, exp=claims_of(good)["exp"] + 86400),
        "sub changed": _resigned_payload(good, sub="admin"),
    }
    for name, tok in cases.items():
        r = refused(srv, lambda: refresh(srv, path, tok), 401,
                    "bad_signature")
        assert 'error_description="bad_signature"' in www_auth(r), (name, r)
    # a refreshed token, tampered, too
    new, _ = refresh_ok(srv, path, good)
    h, p, s = split(new)
    refused(srv, lambda: refresh(srv, path, "%s.%s.%s"
                                 % (h, p, flip_char(s, 10))),
            401, "bad_signature")
    # an HS256 token signed with a made-up secret under hs1's kid
    forged = mint(ks.hs, claims(sub=uniq("forged")),
                  sign=lambda si: hs256_sign(os.urandom(32), si))
    refused(srv, lambda: refresh(srv, "/token/refresh", forged), 401,
            "bad_signature")
    # garbage
    refused(srv, lambda: refresh(srv, path, "not-a-token"), 401,
            "malformed")


def test_wrong_audience(srv, ks):
    tok = ks.hs.mint(sub=uniq("aud"), aud="player")
    refused(srv, lambda: refresh(srv, "/token/refresh", tok), 403,
            "wrong_audience")


def test_revoked_jti_and_subject(srv, ks):
    tok = ks.hs.mint(sub=uniq("rj"), jti="refresh-revoked-jti")
    r = refused(srv, lambda: refresh(srv, "/token/refresh", tok), 401,
                "revoked")
    assert 'error_description="revoked"' in www_auth(r)
    tok = ks.ed.mint(sub="mallory")
    refused(srv, lambda: refresh(srv, "/token/refresh-ed", tok), 401,
            "revoked")
    # revoked and expired (in its session): still revoked
    tok = mint(ks.hs, claims(sub="mallory", now=now() - 100, ttl=40))
    refused(srv, lambda: refresh(srv, "/token/refresh", tok), 401,
            "revoked")


def test_revoking_a_chain_live(srv, ks, deny_file):
    """the jti is kept, so revoking it ends every token of the chain; a
    subject line ends them too"""
    sub = uniq("live")
    jti = uniq("jti")
    old = ks.hs.mint(sub=sub, jti=jti, scope="/up/")
    new, c = refresh_ok(srv, "/token/refresh", old)
    assert c["jti"] == jti
    newer, _ = refresh_ok(srv, "/token/refresh", new)
    url, uid = tus(srv, newer).create_ok(10)

    cur = LogCursor(srv)
    with open(deny_file, "a") as f:
        f.write("jti %s\n" % jti)
    wait_deny_reloads(srv, cur)
    for tok in (old, new, newer):
        refused(srv, lambda: refresh(srv, "/token/refresh", tok), 401,
                "revoked")
        assert tus(srv, tok).head(url).status_code == 401
    # another token of the subject is not touched by the jti line
    other = ks.hs.mint(sub=sub, scope="/up/")
    other_new, _ = refresh_ok(srv, "/token/refresh", other)
    assert tus(srv, other_new).head(url).status_code == 200

    cur = LogCursor(srv)
    with open(deny_file, "a") as f:
        f.write("sub %s\n" % sub)
    wait_deny_reloads(srv, cur)
    for tok in (other, other_new):
        refused(srv, lambda: refresh(srv, "/token/refresh", tok), 401,
                "revoked")
    assert tus(srv, other_new).head(url).status_code == 401


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD",
                                    "OPTIONS"])
def test_other_methods_405(srv, ks, method):
    tok = ks.hs.mint(sub=uniq("meth"))
    m0 = srv.metrics()
    r = refresh(srv, "/token/refresh", tok, method=method,
                data=b"x" if method in ("PUT", "PATCH") else None)
    assert r.status_code == 405, (method, r.status_code, r.text)
    assert '"token"' not in r.text
    assert "no-store" not in r.headers.get("Cache-Control", "")
    # not an authentication failure
    assert auth_failures(srv.metrics()) == auth_failures(m0)


def test_put_without_token_is_401_first(srv, ks):
    """the access phase runs before the content handler"""
    refused(srv, lambda: refresh(srv, "/token/refresh", method="PUT",
                                 data=b"x"),
            401, "missing", log_pattern="token missing")
