"""
Token minting for the integration tests: an implementation of JWS compact
(RFC 7515) / JWT (RFC 7519) of its own, independent of src/core/ingest_token.c
and of the operator CLI: HS256 with hmac/hashlib, EdDSA (Ed25519) with
python3-cryptography.

    ks = KeySet(tmp_dir)                 # writes the key files
    conf.server += ks.directives()       # ingest_token_key lines
    tok = ks.hs.mint(sub="alice", scope="/up/")
    headers = bearer(tok)

Also: helpers that check a rejection the way the brief wants it (status,
reason at info level in error.log, counted in /metrics, nothing stored).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey)

from harness import TusClient, dir_snapshot


# --------------------------------------------------------------------------
# JWS pieces


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    s = s.encode() if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def json_part(obj):
    """compact JSON, as most issuers write it"""
    if isinstance(obj, (bytes, str)):
        return b64url(obj)
    return b64url(json.dumps(obj, separators=(",", ":")))


def split(token):
    h, p, s = token.split(".")
    return h, p, s


def header_of(token):
    return json.loads(b64url_decode(split(token)[0]))


def claims_of(token):
    return json.loads(b64url_decode(split(token)[1]))


def claims(sub="alice", ttl=300, aud="upload", scope=None, now=None,
           iat=True, jti=True, **extra):
    """a claim set; extra claims (nbf, max_size, types, exp, ...) as
    keyword arguments; a value None removes the claim"""
    now = int(time.time()) if now is None else now
    c = {"sub": sub, "aud": aud, "exp": now + ttl}
    if iat is True:
        c["iat"] = now
    elif iat not in (False, None):
        c["iat"] = iat
    if jti is True:
        c["jti"] = str(uuid.uuid4())
    elif jti not in (False, None):
        c["jti"] = jti
    if scope is not None:
        c["scope"] = scope
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def hs256_sign(secret, signing_input):
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


class HSKey:
    alg = "HS256"

    def __init__(self, kid, secret=None, encoding="raw"):
        self.kid = kid
        self.secret = secret or HSKey.random_secret()
        self.encoding = encoding        # raw | hex | base64 (the key file)

    @staticmethod
    def random_secret():
        """32 random bytes that a raw key file holds as they are: nginx
        drops one trailing newline (or CRLF) of a raw file"""
        while True:
            secret = os.urandom(32)
            if secret[-1:] not in (b"\n", b"\r"):
                return secret

    def file_bytes(self):
        if self.encoding == "hex":
            return b"hex:" + self.secret.hex().encode() + b"\n"
        if self.encoding == "base64":
            return b"base64:" + base64.b64encode(self.secret) + b"\n"
        return self.secret

    def sign(self, signing_input):
        return hs256_sign(self.secret, signing_input)

    def mint(self, header=None, **kw):
        return mint(self, claims(**kw), header=header)


class EdKey:
    alg = "EdDSA"

    def __init__(self, kid):
        self.kid = kid
        self.private = Ed25519PrivateKey.generate()
        self.public = self.private.public_key()

    def public_pem(self):
        return self.public.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)

    def public_raw(self):
        return self.public.public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)

    def file_bytes(self):
        return self.public_pem()

    def sign(self, signing_input):
        return self.private.sign(signing_input)

    def mint(self, header=None, **kw):
        return mint(self, claims(**kw), header=header)


def mint(key, claim_set, header=None, alg=None, kid=None, sign=None):
    """header: a dict that replaces the default header entirely, or None
    for {"alg": key.alg, "typ": "JWT", "kid": key.kid}; sign: a function
    signing_input -> signature bytes (default: the key's)"""
    if header is None:
        header = {"alg": alg or key.alg, "typ": "JWT",
                  "kid": key.kid if kid is None else kid}
    h = json_part(header)
    p = json_part(claim_set)
    signing_input = ("%s.%s" % (h, p)).encode()
    sig = (sign or key.sign)(signing_input)
    return "%s.%s.%s" % (h, p, b64url(sig))


def flip_char(s, index):
    """another base64url character at index (one that changes the
    decoded bits: never only the padding bits of the last character)"""
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_")
    c = s[index]
    n = alphabet[(alphabet.index(c) + 32) % 64]    # flips the top bit
    return s[:index] + n + s[index + 1:]


def bearer(token):
    return {"Authorization": "Bearer " + token}


class KeySet:
    """the keys of a test server, written as files under dir"""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hs = HSKey("hs1")
        self.hs_hex = HSKey("hs-hex", encoding="hex")
        self.hs_b64 = HSKey("hs-b64", secret=os.urandom(48),
                            encoding="base64")
        self.ed = EdKey("ed1")
        self.keys = [self.hs, self.hs_hex, self.hs_b64, self.ed]
        for k in self.keys:
            self.write(k)

    def path(self, key):
        return self.dir / ("%s.%s" % (key.kid, "pub" if key.alg == "EdDSA"
                                      else "key"))

    def write(self, key):
        p = self.path(key)
        p.write_bytes(key.file_bytes())
        os.chmod(p, 0o600)
        return p

    def directive(self, key):
        return "ingest_token_key %s %s %s;" % (key.kid, key.alg,
                                               self.path(key))

    def directives(self, keys=None):
        return [self.directive(k) for k in (keys or self.keys)]


# --------------------------------------------------------------------------
# checks


class LogCursor:
    """the part of an nginx error.log written after this object was made"""

    def __init__(self, srv):
        self.path = srv.error_log
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def text(self):
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def lines(self, level=None):
        out = self.text().splitlines()
        if level:
            out = [l for l in out if "[%s]" % level in l]
        return out

    def find(self, pattern, level=None):
        rx = re.compile(pattern)
        return [l for l in self.lines(level) if rx.search(l)]


def auth_failures(metrics):
    """{reason: value} of ingest_auth_failures_total"""
    out = {}
    for (name, labels), v in metrics.find("ingest_auth_failures_total").items():
        out[dict(labels).get("reason")] = v
    return out


def metric_delta(m0, m1, name, **labels):
    a = m0.value(name, **labels) or 0
    b = m1.value(name, **labels)
    assert b is not None, "metric %s%r missing from /metrics" % (name, labels)
    return b - a


class Snapshot:
    """the trees of some directories; .assert_same() after"""

    def __init__(self, *dirs):
        self.dirs = [Path(d) for d in dirs]
        self.before = [dir_snapshot(d) for d in self.dirs]

    def changes(self):
        out = []
        for d, b in zip(self.dirs, self.before):
            a = dir_snapshot(d)
            if a != b:
                added = sorted(set(a) - set(b))
                removed = sorted(set(b) - set(a))
                changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
                out.append("%s: added %r removed %r changed %r"
                           % (d, added, removed, changed))
        return out

    def assert_same(self):
        ch = self.changes()
        assert not ch, "something was stored:\n" + "\n".join(ch)


def wait_log(cursor, pattern, level=None, timeout=10):
    """bounded wait for a log line written after the cursor"""
    deadline = time.monotonic() + timeout
    while True:
        found = cursor.find(pattern, level)
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                "no error.log line matching %r%s after %ss; new lines:\n%s"
                % (pattern, " at [%s]" % level if level else "", timeout,
                   "\n".join(cursor.lines()[-30:])))
        time.sleep(0.05)


# --------------------------------------------------------------------------
# tus with a token


class AuthTus(TusClient):
    """TusClient that sends `Authorization: Bearer <token>` (or, with
    arg=name, appends ?name=<token> to every URL) unless a request sets
    its own Authorization header; token=None sends none"""

    def __init__(self, server, base, token=None, arg=None, **kw):
        super().__init__(server, base, **kw)
        self.token = token
        self.arg = arg
        if arg and token:
            # requests keeps params across calls of a session
            self.http.params = {arg: token}

    def _h(self, headers, tus=True):
        h = super()._h(headers, tus)
        if self.token and not self.arg and not any(
                k.lower() == "authorization" for k in h):
            h["Authorization"] = "Bearer " + self.token
        return h

    def with_token(self, token):
        return AuthTus(self.server, self.base, token)


# --------------------------------------------------------------------------
# config pieces


def tus_location(conf, spec, store, *extra, token=True):
    """a tus location of conf with its own store and the common spool;
    token=True adds `ingest_token on;`"""
    conf.location(spec, "tus on;", "tus_store %s;" % conf.store(store),
                  "tus_spool %s;" % conf.spool, "client_max_body_size 0;",
                  *((["ingest_token on;"] if token else []) + list(extra)))


def create_dirs(conf):
    for d in ("tmp", "incoming"):
        (conf.spool / d).mkdir(parents=True, exist_ok=True)
    for path in conf.stores.values():
        path.mkdir(parents=True, exist_ok=True)


def decode_metadata(value):
    """Upload-Metadata header value -> {key: str|None}"""
    out = {}
    for pair in (value or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        parts = pair.split(" ", 1)
        out[parts[0]] = (base64.b64decode(parts[1]).decode("utf-8", "replace")
                         if len(parts) > 1 else None)
    return out


def sleep_until(t):
    """sleeps until time.time() >= t"""
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def read_lines(path):
    try:
        return Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
