"""
The S3-compatible multipart API (issue 4, /work/notes/s3-spec.md) with real
clients: Debian's aws-cli (/usr/bin/aws), python3-boto3 (botocore), the AWS
SDK for JavaScript v3 (t/js/s3_upload.mjs: @aws-sdk/client-s3, lib-storage,
s3-request-presigner), and hand-signed SigV4 requests for what these
clients do not send (signed aws-chunked bodies, skewed clocks, expired or
too long presigned URLs, a wrong x-amz-content-sha256).

Every upload is checked byte for byte: the object file in the store, a GET
through the API and the source file of the spool job. Every rejection
checks the S3 error code, the HTTP status, and that nothing was assembled
(no object, no spool job, the part not listed).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
import requests

from harness import (REPO, MiB, KiB, Conf, NginxServer, HarnessError,
                     RawConn, big_payload, payload, sha256, sha256_file,
                     wait_until)

try:
    import boto3
    import botocore
    from botocore import UNSIGNED
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config as BotoConfig
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
    from boto3.s3.transfer import TransferConfig
except ImportError:             # pragma: no cover
    boto3 = None


AWS = "/usr/bin/aws"            # Debian's awscli (a pyenv aws may shadow it)
JS_DIR = REPO / "t" / "js"
JS_SCRIPT = JS_DIR / "s3_upload.mjs"
NODE = shutil.which("node") or "/usr/bin/node"

REGION = "us-east-1"
AK, SK, ACCOUNT = "AKIAINGESTTEST0000001", "s3cr3t/Key+with=Chars0001", "alice"
AK2, SK2 = "AKIAINGESTTEST0000002", "another-secret-0002"
BUCKET = "videos"
BUCKET2 = "media"
LIMIT_BUCKET = "videos"
MAX_OBJECT = 200 * MiB          # ingest_s3_max_object_size of the root API
LIMIT_MAX = 6 * MiB             # of the /lim API
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# --------------------------------------------------------------------------
# small helpers


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def part_etag(data):
    return '"%s"' % md5_hex(data)


def multipart_etag(parts):
    """"md5(concat of the binary part MD5s)-N" of a list of part bodies"""
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))


def split_parts(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def b64_crc32(data):
    return base64.b64encode(
        (zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")).decode()


def strip_ns(tag):
    return tag.rsplit("}", 1)[-1]


def xml_find(root, name):
    for el in root.iter():
        if strip_ns(el.tag) == name:
            return el
    return None


def s3_error(body):
    """(Code, Message) of an S3 XML error document"""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise AssertionError("not an S3 XML error document (%s): %r"
                             % (e, body[:500]))
    assert strip_ns(root.tag) == "Error", body[:500]
    code = xml_find(root, "Code")
    msg = xml_find(root, "Message")
    return (code.text if code is not None else None,
            msg.text if msg is not None else "")


def assert_s3_error(status, body, want_status, want_code, message_re=None):
    code, msg = s3_error(body)
    assert (status, code) == (want_status, want_code), (
        "want %d %s, got %d %s: %r" % (want_status, want_code, status, code,
                                        body[:600]))
    if message_re:
        assert re.search(message_re, msg or "", re.I), (msg, body[:600])


def client_error(excinfo):
    """(HTTP status, S3 code, message) of a botocore ClientError"""
    e = excinfo.value
    return (e.response["ResponseMetadata"]["HTTPStatusCode"],
            e.response["Error"].get("Code"),
            e.response["Error"].get("Message", ""))


# --------------------------------------------------------------------------
# SigV4, written from the AWS documentation; test_signer_matches_botocore
# checks it against botocore so that the hand-signed rejections below
# fail for the reason they are about


def uri_encode(s, keep_slash=False):
    if isinstance(s, str):
        s = s.encode()
    return urllib.parse.quote(s, safe="-_.~" + ("/" if keep_slash else ""))


def amz_date(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def hmac256(key, msg):
    if isinstance(msg, str):
        msg = msg.encode()
    return hmac.new(key, msg, hashlib.sha256).digest()


def signing_key(secret, date8, region=REGION, service="s3"):
    k = hmac256(("AWS4" + secret).encode(), date8)
    k = hmac256(k, region)
    k = hmac256(k, service)
    return hmac256(k, "aws4_request")


def canonical_query(pairs):
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


class Signed:
    """a request signed with SigV4 in the Authorization header"""

    def __init__(self, method, path, query=(), headers=None, body=b"",
                 payload_hash=None, ak=AK, sk=SK, t=None, region=REGION,
                 host=None, unsigned=("content-length",)):
        self.method = method
        self.path = path                # already URI-encoded
        self.query = list(query)        # decoded (name, value) pairs
        self.t = time.time() if t is None else t
        self.date = amz_date(self.t)
        self.date8 = self.date[:8]
        self.scope = "%s/%s/s3/aws4_request" % (self.date8, region)
        self.key = signing_key(sk, self.date8, region)
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest()
        self.payload_hash = payload_hash
        h = {"Host": host, "x-amz-date": self.date,
             "x-amz-content-sha256": payload_hash}
        h.update(headers or {})
        self.headers = {k: v for k, v in h.items() if v is not None}
        # everything but content-length is signed, as botocore does
        names = sorted(k.lower() for k in self.headers
                       if k.lower() not in unsigned)
        self.signed_headers = ";".join(names)
        canon_h = "".join(
            "%s:%s\n" % (n, " ".join(str(self._get(n)).split()))
            for n in names)
        self.canonical_request = "\n".join([
            method, path, canonical_query(self.query), canon_h,
            self.signed_headers, payload_hash])
        self.string_to_sign = "\n".join([
            "AWS4-HMAC-SHA256", self.date, self.scope,
            hashlib.sha256(self.canonical_request.encode()).hexdigest()])
        self.signature = hmac.new(self.key, self.string_to_sign.encode(),
                                  hashlib.sha256).hexdigest()
        self.headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
            "Signature=%s" % (ak, self.scope, self.signed_headers,
                              self.signature))

    def _get(self, lname):
        for k, v in self.headers.items():
            if k.lower() == lname:
                return v
        raise KeyError(lname)

    @property
    def target(self):
        q = canonical_query(self.query)
        return self.path + ("?" + q if q else "")


def presign(method, path, host, query=(), ak=AK, sk=SK, t=None,
            expires=600, region=REGION, extra_params=()):
    """a presigned URL (path already URI-encoded); returns the path+query"""
    t = time.time() if t is None else t
    date = amz_date(t)
    scope = "%s/%s/s3/aws4_request" % (date[:8], region)
    params = list(query) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (ak, scope)),
        ("X-Amz-Date", date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ] + list(extra_params)
    creq = "\n".join([method, path, canonical_query(params),
                      "host:%s\n" % host, "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(sk, date[:8], region), sts.encode(),
                   hashlib.sha256).hexdigest()
    return path + "?" + canonical_query(params + [("X-Amz-Signature", sig)])


def aws_chunked_signed(data, sig, chunk, date, scope, key, trailer=None):
    """an aws-chunked body with chunk signatures (STREAMING-AWS4-HMAC-
    SHA256-PAYLOAD, or -TRAILER when trailer is ("name", "value")); sig is
    the seed signature (the request's own)"""
    out = []
    prev = sig
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", date, scope, prev,
                         EMPTY_SHA256, hashlib.sha256(piece).hexdigest()])
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out.append(b"%x;chunk-signature=%s\r\n" % (len(piece), prev.encode()))
        if piece:
            out.append(piece + b"\r\n")
    if trailer is None:
        out.append(b"\r\n")
    else:
        line = "%s:%s" % trailer
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", date, scope, prev,
                         hashlib.sha256((line + "\n").encode()).hexdigest()])
        tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        out.append(("%s\r\nx-amz-trailer-signature:%s\r\n\r\n"
                    % (line, tsig)).encode())
    return b"".join(out)


def aws_chunked_unsigned(data, chunk, trailer):
    out = []
    for i in range(0, len(data), chunk):
        piece = data[i:i + chunk]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n%s:%s\r\n\r\n" % (trailer[0].encode(),
                                         trailer[1].encode()))
    return b"".join(out)


# --------------------------------------------------------------------------
# the server


class S3Env:
    def __init__(self, srv, conf):
        self.srv = srv
        self.port = srv.port
        self.host = "127.0.0.1:%d" % srv.port
        self.endpoint = "http://%s" % self.host
        self.lim_endpoint = self.endpoint + "/lim"
        self.store = conf.stores["s3"]
        self.lim_store = conf.stores["s3lim"]
        self.spool = conf.spool

    # clients
    def boto(self, ak=AK, sk=SK, endpoint=None, signed=True, **cfg):
        kw = dict(signature_version="s3v4" if signed else UNSIGNED,
                  s3={"addressing_style": "path"},
                  retries={"mode": "standard", "total_max_attempts": 1},
                  connect_timeout=10, read_timeout=60)
        kw.update(cfg)
        return boto3.client(
            "s3", endpoint_url=endpoint or self.endpoint,
            aws_access_key_id=ak, aws_secret_access_key=sk,
            region_name=REGION, config=BotoConfig(**kw))

    def raw(self, method, target, headers=None, body=b""):
        with RawConn(self.port) as c:
            return c.request(method, target, headers or {}, body)

    def signed(self, method, path, query=(), headers=None, body=b"",
               **kw):
        s = Signed(method, path, query, headers, body, host=self.host, **kw)
        return self.raw(method, s.target, s.headers, body), s

    # the store and the spool
    def index_path(self, bucket, key, store=None):
        return (store or self.store) / "buckets" / bucket / \
            hashlib.sha256(key.encode()).hexdigest()

    def object_id(self, bucket, key, store=None):
        p = self.index_path(bucket, key, store)
        try:
            text = p.read_text().strip()
        except FileNotFoundError:
            return None
        if text.startswith("{"):
            return json.loads(text)["id"]
        return text.split()[0]

    def object_files(self, store=None):
        d = (store or self.store) / "objects"
        if not d.exists():
            return set()
        return {p.name for p in d.iterdir()}

    def jobs(self):
        d = self.spool / "incoming"
        return {p.name for p in d.glob("*.json")} if d.exists() else set()

    def wait_job(self, oid, timeout=15):
        def find():
            p = self.spool / "incoming" / ("%s.json" % oid)
            if p.exists():
                return json.loads(p.read_text())
            return None
        return wait_until(find, timeout=timeout,
                          what="spool job of object %s" % oid)

    def snapshot(self, store=None):
        return (self.object_files(store), self.jobs())

    def assert_nothing_assembled(self, before, bucket, key, store=None):
        objects, jobs = before
        assert self.object_id(bucket, key, store) is None, \
            "an object was stored for %s/%s" % (bucket, key)
        assert self.object_files(store) == objects, "new object files"
        assert self.jobs() == jobs, "new spool jobs: %r" % (
            self.jobs() - jobs)

    def check_object(self, bucket, key, data, etag=None, store=None,
                     endpoint=None, content_type=None, client=None,
                     owner=ACCOUNT):
        """the object is data: in the store, through GET, in the spool"""
        want = sha256(data)
        oid = self.object_id(bucket, key, store)
        assert oid, "no index entry for %s/%s under %s" % (
            bucket, key, store or self.store)
        obj = (store or self.store) / "objects" / oid
        assert obj.stat().st_size == len(data)
        assert sha256_file(obj) == want, "object file differs"
        c = client or self.boto(endpoint=endpoint)
        h = c.head_object(Bucket=bucket, Key=key)
        assert h["ContentLength"] == len(data)
        if etag is not None:
            assert h["ETag"] == etag, (h["ETag"], etag)
        if content_type is not None:
            assert h["ContentType"] == content_type
        g = c.get_object(Bucket=bucket, Key=key)
        body = g["Body"].read()
        assert len(body) == len(data) and sha256(body) == want, \
            "GET returned other bytes"
        if etag is not None:
            assert g["ETag"] == etag
        job = self.wait_job(oid)
        assert job["protocol"] == "s3", job
        assert job["size"] == len(data), job
        assert sha256_file(job["source"]) == want, "spool source differs"
        assert Path(job["source"]) == obj, job
        assert job["owner"] == owner, job
        assert job["metadata"]["bucket"] == bucket, job
        assert job["metadata"]["key"] == key, job
        if etag is not None and "etag" in job["metadata"]:
            assert job["metadata"]["etag"] == etag, job
        return oid, job


def s3_conf(prefix):
    c = Conf(prefix)
    spool = c.spool
    for d in ("tmp", "incoming"):
        (spool / d).mkdir(parents=True, exist_ok=True)
    creds = ["ingest_s3_credentials %s %s %s;" % (AK, SK, ACCOUNT),
             "ingest_s3_credentials %s %s;" % (AK2, SK2)]
    c.location("/", "ingest_s3 on;",
               "ingest_s3_store %s;" % c.store("s3"),
               "ingest_s3_spool %s;" % spool,
               *creds,
               "ingest_s3_region %s;" % REGION,
               "ingest_s3_buckets %s %s;" % (BUCKET, BUCKET2),
               "ingest_s3_max_object_size %dm;" % (MAX_OBJECT // MiB),
               "ingest_s3_cors_origin *;",
               "client_max_body_size 0;")
    c.location("/lim/", "ingest_s3 on;",
               "ingest_s3_store %s;" % c.store("s3lim"),
               "ingest_s3_spool %s;" % spool,
               *creds,
               "ingest_s3_buckets %s;" % LIMIT_BUCKET,
               "ingest_s3_max_object_size %dm;" % (LIMIT_MAX // MiB),
               "client_max_body_size 0;")
    c.location("= /metrics", "ingest_metrics;")
    return c


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    if boto3 is None:
        pytest.fail("python3-boto3 is missing (scripts/install-deps.sh)",
                    pytrace=False)
    conf = s3_conf(tmp_path_factory.mktemp("nginx-s3"))
    srv = NginxServer(conf)
    try:
        srv.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    yield S3Env(srv, conf)
    srv.stop()
    srv.assert_clean_log()


@pytest.fixture
def src(tmp_path):
    def make(size, seed, name=None):
        data = big_payload(size, seed)
        p = tmp_path / (name or "src-%d-%d.bin" % (size, seed))
        p.write_bytes(data)
        return p, data
    return make


# --------------------------------------------------------------------------
# the signer itself (no nginx)


def test_signer_matches_botocore():
    creds = Credentials(AK, SK)
    host = "127.0.0.1:9"
    body = b"hello world"
    req = AWSRequest(method="PUT",
                     url="http://%s/videos/a%%20b/c.bin?partNumber=3&"
                         "uploadId=abc" % host,
                     data=body, headers={"Content-Type": "video/mp4"})
    S3SigV4Auth(creds, "s3", REGION).add_auth(req)
    t = datetime.datetime.strptime(req.headers["X-Amz-Date"],
                                   "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    mine = Signed("PUT", "/videos/a%20b/c.bin",
                  [("partNumber", "3"), ("uploadId", "abc")],
                  {"Content-Type": "video/mp4"}, body, host=host, t=t)
    assert mine.headers["Authorization"] == req.headers["Authorization"]

    q = AWSRequest(method="PUT", url="http://%s/videos/k.bin?partNumber=1&"
                   "uploadId=u1" % host)
    S3SigV4QueryAuth(creds, "s3", REGION, expires=900).add_auth(q)
    parsed = urllib.parse.urlsplit(q.url)
    qs = dict(urllib.parse.parse_qsl(parsed.query))
    t = datetime.datetime.strptime(qs["X-Amz-Date"], "%Y%m%dT%H%M%SZ") \
        .replace(tzinfo=datetime.timezone.utc).timestamp()
    mine = presign("PUT", "/videos/k.bin", host,
                   [("partNumber", "1"), ("uploadId", "u1")], t=t,
                   expires=900)
    mine_qs = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(mine).query))
    assert mine_qs["X-Amz-Signature"] == qs["X-Amz-Signature"]


def test_chunk_signer_matches_aws_example():
    """the example of the SigV4 streaming documentation ("Signature
    calculations for the Authorization header: transferring payload in
    multiple chunks"): 66560 bytes of "a" in 64 KiB chunks"""
    t = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc) \
        .timestamp()
    s = Signed("PUT", "/examplebucket/chunkObject.txt", (), {
        "Content-Encoding": "aws-chunked", "Content-Length": "66824",
        "x-amz-decoded-content-length": "66560",
        "x-amz-storage-class": "REDUCED_REDUNDANCY"},
        payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ak="AKIAIOSFODNN7EXAMPLE",
        sk="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", t=t,
        host="s3.amazonaws.com", unsigned=())
    assert s.signature == ("4f232c4386841ef735655705268965c4"
                           "4a0e4690baa4adea153f7db9fa80a0a9")
    body = aws_chunked_signed(b"a" * 66560, s.signature, 64 * KiB, s.date,
                              s.scope, s.key)
    assert len(body) == 66824
    assert re.findall(rb"chunk-signature=([0-9a-f]{64})", body) == [
        b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        b"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]


# --------------------------------------------------------------------------
# aws-cli


@pytest.fixture
def aws(tmp_path, s3):
    if not os.access(AWS, os.X_OK):
        pytest.fail("%s is missing: Debian's awscli (scripts/install-deps.sh)"
                    % AWS, pytrace=False)
    home = tmp_path / "aws-home"
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
        "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "1",
    }

    def run(*args, check=True, timeout=300):
        p = subprocess.run([AWS, "--endpoint-url", s3.endpoint,
                            "--no-cli-pager"] + [str(a) for a in args],
                           env=env, capture_output=True, text=True,
                           timeout=timeout, cwd=str(tmp_path))
        if check:
            assert p.returncode == 0, (args, p.returncode, p.stdout[-2000:],
                                       p.stderr[-3000:])
        return p

    def api(*args):
        p = run("s3api", *args, "--output", "json")
        return json.loads(p.stdout) if p.stdout.strip() else {}

    for k, v in (("default.s3.multipart_chunksize", "8MB"),
                 ("default.s3.addressing_style", "path")):
        p = subprocess.run([AWS, "configure", "set", k, v], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    run.api = api
    return run


def test_aws_cli_s3_cp_100mib_multipart(s3, aws, src):
    path, data = src(100 * MiB, 301)
    key = unique("cli/cp") + "/movie.mp4"
    aws("s3", "cp", path, "s3://%s/%s" % (BUCKET, key),
        "--only-show-errors", "--content-type", "video/mp4")
    etag = multipart_etag(split_parts(data, 8 * MiB))
    assert etag.endswith('-13"'), etag
    oid, job = s3.check_object(BUCKET, key, data, etag=etag,
                               content_type="video/mp4")
    assert job["content_type"] == "video/mp4", job
    head = aws.api("head-object", "--bucket", BUCKET, "--key", key)
    assert head["ETag"] == etag and head["ContentLength"] == len(data)
    # and back with the same client
    out = path.parent / "back.bin"
    aws("s3", "cp", "s3://%s/%s" % (BUCKET, key), out, "--only-show-errors")
    assert sha256_file(out) == sha256(data)


def test_aws_cli_s3api_multipart_verbs(s3, aws, src, tmp_path):
    key = unique("cli/verbs") + "/clip.mov"
    sizes = (5 * MiB, 5 * MiB, MiB + 7)
    parts = [big_payload(n, 310 + i) for i, n in enumerate(sizes)]
    data = b"".join(parts)

    up = aws.api("create-multipart-upload", "--bucket", BUCKET, "--key", key,
                 "--content-type", "video/quicktime")
    uid = up["UploadId"]
    assert up["Key"] == key and up["Bucket"] == BUCKET and uid

    etags = []
    for n, body in enumerate(parts, 1):
        f = tmp_path / ("part%d" % n)
        f.write_bytes(body)
        r = aws.api("upload-part", "--bucket", BUCKET, "--key", key,
                    "--upload-id", uid, "--part-number", n, "--body", f)
        assert r["ETag"] == part_etag(body), (n, r)
        etags.append(r["ETag"])

    # --no-paginate: the CLI's own pagination keeps only the parts
    lp = aws.api("list-parts", "--bucket", BUCKET, "--key", key,
                 "--upload-id", uid, "--no-paginate")
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp["Parts"]] \
        == [(n, etags[n - 1], sizes[n - 1]) for n in (1, 2, 3)]
    assert lp["UploadId"] == uid and lp["Key"] == key

    prefix = key.split("/")[0] + "/" + key.split("/")[1]
    lu = aws.api("list-multipart-uploads", "--bucket", BUCKET,
                 "--prefix", prefix)
    assert [(u["Key"], u["UploadId"]) for u in lu.get("Uploads", [])] \
        == [(key, uid)]

    # nothing is an object before Complete
    before = s3.snapshot()
    assert s3.object_id(BUCKET, key) is None
    p = aws("s3api", "head-object", "--bucket", BUCKET, "--key", key,
            check=False)
    assert p.returncode != 0 and "404" in p.stderr, p.stderr

    mp = tmp_path / "parts.json"
    mp.write_text(json.dumps({"Parts": [
        {"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}))
    done = aws.api("complete-multipart-upload", "--bucket", BUCKET,
                   "--key", key, "--upload-id", uid,
                   "--multipart-upload", "file://%s" % mp)
    etag = multipart_etag(parts)
    assert done["ETag"] == etag, done
    assert done["Key"] == key and done["Bucket"] == BUCKET

    head = aws.api("head-object", "--bucket", BUCKET, "--key", key)
    assert head["ETag"] == etag
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "video/quicktime"
    out = tmp_path / "got.bin"
    g = aws.api("get-object", "--bucket", BUCKET, "--key", key, out)
    assert g["ETag"] == etag and g["ContentLength"] == len(data)
    assert sha256_file(out) == sha256(data)
    s3.check_object(BUCKET, key, data, etag=etag)
    assert len(s3.jobs() - before[1]) == 1

    # the upload is gone once completed
    lu = aws.api("list-multipart-uploads", "--bucket", BUCKET,
                 "--prefix", prefix)
    assert not lu.get("Uploads")

    # abort-multipart-upload
    key2 = unique("cli/abort") + "/x.bin"
    uid2 = aws.api("create-multipart-upload", "--bucket", BUCKET,
                   "--key", key2)["UploadId"]
    f = tmp_path / "p1"
    f.write_bytes(parts[0])
    aws.api("upload-part", "--bucket", BUCKET, "--key", key2,
            "--upload-id", uid2, "--part-number", 1, "--body", f)
    assert (s3.store / "uploads" / uid2).exists()
    before = s3.snapshot()
    aws.api("abort-multipart-upload", "--bucket", BUCKET, "--key", key2,
            "--upload-id", uid2)
    p = aws("s3api", "list-parts", "--bucket", BUCKET, "--key", key2,
            "--upload-id", uid2, check=False)
    assert p.returncode != 0 and "NoSuchUpload" in p.stderr, p.stderr
    s3.assert_nothing_assembled(before, BUCKET, key2)
    wait_until(lambda: not (s3.store / "uploads" / uid2).exists()
               and not (s3.store / "uploads" / ("%s.info" % uid2)).exists(),
               timeout=10, what="the aborted upload's files to go")


# --------------------------------------------------------------------------
# boto3


def test_boto3_upload_file_multipart(s3, src):
    path, data = src(23 * MiB + 17, 401)
    key = unique("boto/upload_file") + "/big.bin"
    c = s3.boto()
    cfg = TransferConfig(multipart_threshold=5 * MiB,
                         multipart_chunksize=5 * MiB, max_concurrency=4,
                         use_threads=True)
    c.upload_file(str(path), BUCKET, key, Config=cfg,
                  ExtraArgs={"ContentType": "video/mp4"})
    etag = multipart_etag(split_parts(data, 5 * MiB))
    assert etag.endswith('-5"')
    s3.check_object(BUCKET, key, data, etag=etag, content_type="video/mp4")
    out = path.parent / "dl.bin"
    c.download_file(BUCKET, key, str(out), Config=cfg)
    assert sha256_file(out) == sha256(data)


def test_boto3_put_object_head_get_range_delete(s3):
    data = payload(300 * KiB + 5, 402)
    key = unique("boto/put") + "/small ü+&=.bin"   # escapes in the key
    c = s3.boto()
    r = c.put_object(Bucket=BUCKET, Key=key, Body=data,
                     ContentType="application/x-test",
                     Metadata={"title": "A title", "camera": "cam-2"})
    assert r["ETag"] == part_etag(data)
    oid, job = s3.check_object(BUCKET, key, data, etag=part_etag(data),
                               content_type="application/x-test")
    assert c.head_object(Bucket=BUCKET, Key=key)["Metadata"] == {
        "title": "A title", "camera": "cam-2"}
    assert job["metadata"]["filename"] == "small ü+&=.bin", job
    assert job["content_type"] == "application/x-test", job

    g = c.get_object(Bucket=BUCKET, Key=key, Range="bytes=1000-5999")
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["ContentRange"] == "bytes 1000-5999/%d" % len(data)
    assert g["ContentLength"] == 5000
    assert g["Body"].read() == data[1000:6000]

    g = c.get_object(Bucket=BUCKET, Key=key, Range="bytes=-100")
    assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert g["Body"].read() == data[-100:]

    g = c.get_object(Bucket=BUCKET, Key=key, Range="bytes=%d-" %
                     (len(data) - 10))
    assert g["Body"].read() == data[-10:]

    with pytest.raises(ClientError) as ei:
        c.get_object(Bucket=BUCKET, Key=key, Range="bytes=%d-" % len(data))
    assert client_error(ei)[:2] == (416, "InvalidRange")

    # an empty object
    c.put_object(Bucket=BUCKET, Key=key + ".empty", Body=b"")
    s3.check_object(BUCKET, key + ".empty", b"", etag=part_etag(b""))

    # HeadBucket, DeleteObject
    assert c.head_bucket(Bucket=BUCKET)["ResponseMetadata"][
        "HTTPStatusCode"] == 200
    d = c.delete_object(Bucket=BUCKET, Key=key)
    assert d["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        c.head_object(Bucket=BUCKET, Key=key)
    assert client_error(ei)[0] == 404
    with pytest.raises(ClientError) as ei:
        c.get_object(Bucket=BUCKET, Key=key)
    assert client_error(ei)[:2] == (404, "NoSuchKey")


def test_boto3_list_parts_pagination(s3):
    c = s3.boto()
    key = unique("boto/lp") + "/p.bin"
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    bodies = {n: payload(1000 + n, 410 + n) for n in range(1, 6)}
    for n in (3, 1, 5, 2, 4):              # any order
        r = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                          PartNumber=n, Body=bodies[n])
        assert r["ETag"] == part_etag(bodies[n])

    def page(marker=None):
        kw = dict(Bucket=BUCKET, Key=key, UploadId=uid, MaxParts=2)
        if marker is not None:
            kw["PartNumberMarker"] = marker
        return c.list_parts(**kw)

    p1 = page()
    assert [p["PartNumber"] for p in p1["Parts"]] == [1, 2]
    assert p1["IsTruncated"] is True and p1["NextPartNumberMarker"] == 2
    assert p1["MaxParts"] == 2
    p2 = page(p1["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in p2["Parts"]] == [3, 4]
    assert p2["IsTruncated"] is True and p2["NextPartNumberMarker"] == 4
    assert p2["PartNumberMarker"] == 2
    p3 = page(p2["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in p3["Parts"]] == [5]
    assert p3["IsTruncated"] is False
    for p in p1["Parts"] + p2["Parts"] + p3["Parts"]:
        n = p["PartNumber"]
        assert p["ETag"] == part_etag(bodies[n])
        assert p["Size"] == len(bodies[n])
        assert "LastModified" in p

    # botocore's own paginator walks the same pages
    pages = list(c.get_paginator("list_parts").paginate(
        Bucket=BUCKET, Key=key, UploadId=uid,
        PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [p["PartNumber"] for pg in pages for p in pg["Parts"]] \
        == [1, 2, 3, 4, 5]

    # a part uploaded again replaces the old one
    new = payload(777, 419)
    c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=2,
                  Body=new)
    got = {p["PartNumber"]: p for p in c.list_parts(
        Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]}
    assert got[2]["ETag"] == part_etag(new) and got[2]["Size"] == 777

    before = s3.snapshot()
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    with pytest.raises(ClientError) as ei:
        c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)
    assert client_error(ei)[:2] == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as ei:
        c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                      Body=b"late")
    assert client_error(ei)[:2] == (404, "NoSuchUpload")
    s3.assert_nothing_assembled(before, BUCKET, key)


def test_boto3_list_multipart_uploads_pagination(s3):
    c = s3.boto()
    prefix = unique("boto/lmu") + "/"
    keys = [prefix + k for k in ("a.bin", "b.bin", "b.bin", "c.bin")]
    ids = []
    for k in keys:
        ids.append((k, c.create_multipart_upload(Bucket=BUCKET2,
                                                 Key=k)["UploadId"]))
    assert len({u for _, u in ids}) == 4

    seen = []
    kw = dict(Bucket=BUCKET2, Prefix=prefix, MaxUploads=2)
    pages = 0
    while True:
        r = c.list_multipart_uploads(**kw)
        pages += 1
        assert r["MaxUploads"] == 2
        got = [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        assert len(got) <= 2
        seen += got
        if not r["IsTruncated"]:
            break
        assert got, r
        assert r["NextKeyMarker"] == got[-1][0]
        assert r["NextUploadIdMarker"] == got[-1][1]
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["UploadIdMarker"] = r["NextUploadIdMarker"]
        assert pages < 10
    assert pages >= 2
    assert sorted(seen) == sorted(ids), (seen, ids)
    assert [k for k, _ in seen] == sorted(k for k, _ in seen)
    for u in c.list_multipart_uploads(Bucket=BUCKET2,
                                      Prefix=prefix)["Uploads"]:
        assert u["Initiated"]

    pages = list(c.get_paginator("list_multipart_uploads").paginate(
        Bucket=BUCKET2, Prefix=prefix, PaginationConfig={"PageSize": 2}))
    assert sorted((u["Key"], u["UploadId"]) for pg in pages
                  for u in pg.get("Uploads", [])) == sorted(ids)

    for k, u in ids:
        c.abort_multipart_upload(Bucket=BUCKET2, Key=k, UploadId=u)
    r = c.list_multipart_uploads(Bucket=BUCKET2, Prefix=prefix)
    assert not r.get("Uploads")


def test_boto3_presigned_upload_part_and_put_object(s3):
    c = s3.boto()
    key = unique("boto/presigned") + "/v.bin"
    parts = [big_payload(5 * MiB, 420), big_payload(MiB + 3, 421)]
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = []
    for n, body in enumerate(parts, 1):
        url = c.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": key,
                                   "UploadId": uid, "PartNumber": n},
            ExpiresIn=600)
        assert "X-Amz-Signature=" in url and "Authorization" not in url
        req = urllib.request.Request(url, data=body, method="PUT")
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200
            etags.append(r.headers["ETag"])
        assert etags[-1] == part_etag(body)
    done = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})
    assert done["ETag"] == multipart_etag(parts)
    s3.check_object(BUCKET, key, b"".join(parts),
                    etag=multipart_etag(parts))

    key2 = key + ".put"
    data = payload(70 * KiB, 422)
    url = c.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key2}, ExpiresIn=600)
    req = urllib.request.Request(url, data=data, method="PUT",
                                 headers={"Content-Type": "video/mp4"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 200 and r.headers["ETag"] == part_etag(data)
    s3.check_object(BUCKET, key2, data, etag=part_etag(data))

    # a presigned GET too
    url = c.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key2}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=60) as r:
        assert r.read() == data


def _trailer_checksums(client):
    """make botocore send STREAMING-UNSIGNED-PAYLOAD-TRAILER (aws-chunked
    with an x-amz-checksum-* trailer) over http: Debian's botocore 1.29
    does it only over https (httpchecksum.py), newer SDKs always"""
    def to_trailer(params, **kw):
        alg = params.get("context", {}).get("checksum", {}) \
            .get("request_algorithm")
        if isinstance(alg, dict):
            alg["in"] = "trailer"
    for op in ("PutObject", "UploadPart"):
        client.meta.events.register("before-call.s3.%s" % op, to_trailer)
    sent = []

    def record(request, **kw):
        sent.append(dict(request.headers))
    client.meta.events.register("before-send.s3.*", record)
    return sent


@pytest.mark.parametrize("algo", ["CRC32", "CRC32C", "SHA256"])
def test_boto3_unsigned_trailer_checksum(s3, algo):
    c = s3.boto()
    sent = _trailer_checksums(c)
    key = unique("boto/trailer-%s" % algo.lower()) + "/t.bin"
    data = big_payload(2 * MiB + 11, 430)
    try:
        r = c.put_object(Bucket=BUCKET, Key=key, Body=data,
                         ChecksumAlgorithm=algo)
    except botocore.exceptions.MissingDependencyException:
        pytest.skip("botocore needs awscrt for %s" % algo)
    h = {k.lower(): v.decode() if isinstance(v, bytes) else v
         for k, v in sent[-1].items()}
    assert h["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert h["content-encoding"] == "aws-chunked"
    assert h["x-amz-trailer"] == "x-amz-checksum-%s" % algo.lower()
    assert r["ETag"] == part_etag(data)
    s3.check_object(BUCKET, key, data, etag=part_etag(data))

    # UploadPart the same way
    key2 = key + ".mp"
    parts = [big_payload(5 * MiB, 431), big_payload(100 * KiB, 432)]
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key2)["UploadId"]
    etags = [c.upload_part(Bucket=BUCKET, Key=key2, UploadId=uid,
                           PartNumber=n, Body=b, ChecksumAlgorithm=algo)
             ["ETag"] for n, b in enumerate(parts, 1)]
    assert etags == [part_etag(b) for b in parts]
    c.complete_multipart_upload(
        Bucket=BUCKET, Key=key2, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})
    s3.check_object(BUCKET, key2, b"".join(parts),
                    etag=multipart_etag(parts))


def test_boto3_header_checksum_and_content_md5(s3):
    """x-amz-checksum-* and Content-MD5 headers: right ones pass, wrong
    ones are BadDigest / InvalidDigest and nothing is stored"""
    c = s3.boto()
    key = unique("boto/digest") + "/d.bin"
    data = payload(64 * KiB, 433)
    c.put_object(Bucket=BUCKET, Key=key, Body=data, ChecksumAlgorithm="CRC32")
    s3.check_object(BUCKET, key, data, etag=part_etag(data))
    c.put_object(Bucket=BUCKET, Key=key + ".md5", Body=data,
                 ContentMD5=base64.b64encode(
                     hashlib.md5(data).digest()).decode())
    s3.check_object(BUCKET, key + ".md5", data)

    before = s3.snapshot()
    with pytest.raises(ClientError) as ei:
        c.put_object(Bucket=BUCKET, Key=key + ".bad", Body=data,
                     ChecksumCRC32=b64_crc32(data + b"x"))
    assert client_error(ei)[:2] == (400, "BadDigest")
    with pytest.raises(ClientError) as ei:
        c.put_object(Bucket=BUCKET, Key=key + ".bad", Body=data,
                     ContentMD5=base64.b64encode(
                         hashlib.md5(data + b"x").digest()).decode())
    assert client_error(ei)[:2] == (400, "BadDigest")
    s3.assert_nothing_assembled(before, BUCKET, key + ".bad")


# --------------------------------------------------------------------------
# signed aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): neither
# Debian's botocore 1.29 nor the JS SDK v3 sends them, other SDKs (Java,
# Go v1, .NET) do; built here from the SigV4 streaming spec


def _chunked_request(s3, path, query, data, chunk=64 * KiB, trailer=None,
                     tamper=None, t=None, sk=SK):
    mode = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" if trailer
            else "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    headers = {"Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data))}
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    # the body length is needed before signing: sign, build, then sign
    # again with the Content-Length (it is not signed, so the same)
    s = Signed("PUT", path, query, headers, payload_hash=mode,
               host=s3.host, t=t, sk=sk)
    body = aws_chunked_signed(data, s.signature, chunk, s.date, s.scope,
                              s.key, trailer)
    if tamper:
        body = tamper(body)
    h = dict(s.headers)
    h["Content-Length"] = str(len(body))
    return s3.raw("PUT", s.target, h, body)


@pytest.mark.parametrize("chunk", [64 * KiB, 8 * KiB + 3])
def test_signed_aws_chunked_upload_part_and_put(s3, chunk):
    c = s3.boto()
    key = unique("chunked/signed") + "/s.bin"
    parts = [big_payload(5 * MiB + 5, 440), big_payload(300 * KiB + 1, 441)]
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    etags = []
    for n, body in enumerate(parts, 1):
        r = _chunked_request(s3, path, [("partNumber", str(n)),
                                        ("uploadId", uid)], body, chunk)
        assert r.status == 200, (r.status, r.body[:600])
        assert r.headers["ETag"] == part_etag(body)
        etags.append(r.headers["ETag"])
    lp = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
    assert [(p["ETag"], p["Size"]) for p in lp] == \
        [(part_etag(b), len(b)) for b in parts]
    c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})
    s3.check_object(BUCKET, key, b"".join(parts),
                    etag=multipart_etag(parts))

    # PutObject, with a signed trailer too
    data = big_payload(MiB + 77, 442)
    key2 = key + ".put"
    r = _chunked_request(s3, "/%s/%s" % (BUCKET, uri_encode(
        key2, keep_slash=True)), [], data, chunk,
        trailer=("x-amz-checksum-crc32", b64_crc32(data)))
    assert r.status == 200, (r.status, r.body[:600])
    s3.check_object(BUCKET, key2, data, etag=part_etag(data))


def test_signed_aws_chunked_rejections(s3):
    c = s3.boto()
    key = unique("chunked/bad") + "/b.bin"
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    q = [("partNumber", "1"), ("uploadId", uid)]
    data = big_payload(256 * KiB + 9, 450)
    before = s3.snapshot()

    def flip_data(body):
        # a byte of the second chunk's data: its signature no longer fits
        first_data = body.index(b"\r\n") + 2
        second_head = first_data + 64 * KiB + 2
        assert body[second_head - 2:second_head] == b"\r\n"
        i = body.index(b"\r\n", second_head) + 2 + 10
        return body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]

    r = _chunked_request(s3, path, q, data, tamper=flip_data)
    assert_s3_error(r.status, r.body, 403, "SignatureDoesNotMatch")

    def bad_sig(body):
        # the first chunk signature, one hex digit changed
        i = body.index(b"chunk-signature=") + len(b"chunk-signature=")
        d = b"0" if body[i:i + 1] != b"0" else b"1"
        return body[:i] + d + body[i + 1:]

    r = _chunked_request(s3, path, q, data, tamper=bad_sig)
    assert_s3_error(r.status, r.body, 403, "SignatureDoesNotMatch")

    # the trailer's checksum wrong (its signature right)
    r = _chunked_request(s3, path, q, data, trailer=(
        "x-amz-checksum-crc32", b64_crc32(data + b"!")))
    assert_s3_error(r.status, r.body, 400, "BadDigest")

    # the stream ends early (a chunk missing, body length consistent)
    def truncate(body):
        last = body.rindex(b"0;chunk-signature=")
        prev = body.rindex(b";chunk-signature=", 0, last)
        start = body.rindex(b"\r\n", 0, prev) + 2
        return body[:start] + body[last:]
    r = _chunked_request(s3, path, q, data, tamper=truncate)
    assert r.status in (400, 403), (r.status, r.body[:600])
    assert s3_error(r.body)[0] in ("IncompleteBody", "SignatureDoesNotMatch",
                                   "InvalidRequest"), r.body[:600]

    assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == [], "a rejected part was kept"
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    s3.assert_nothing_assembled(before, BUCKET, key)


def test_unsigned_trailer_wrong_checksum(s3):
    key = unique("chunked/unsigned-bad") + "/u.bin"
    data = big_payload(200 * KiB, 455)
    body = aws_chunked_unsigned(data, 64 * KiB, (
        "x-amz-checksum-crc32", b64_crc32(b"other")))
    before = s3.snapshot()
    r, _ = s3.signed(
        "PUT", "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True)),
        headers={"Content-Encoding": "aws-chunked",
                 "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-trailer": "x-amz-checksum-crc32",
                 "Content-Length": str(len(body))},
        body=body, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert_s3_error(r.status, r.body, 400, "BadDigest")
    s3.assert_nothing_assembled(before, BUCKET, key)


# --------------------------------------------------------------------------
# the AWS SDK for JavaScript v3


def run_node(s3, mode, *args, expect_rc=0, timeout=180):
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "lib-storage").is_dir():
        pytest.fail("t/js/node_modules lacks @aws-sdk: run `npm ci` in t/js "
                    "(scripts/install-deps.sh does)", pytrace=False)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
              "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        env.pop(k, None)
    p = subprocess.run([NODE, str(JS_SCRIPT), mode, "--endpoint", s3.endpoint,
                        "--region", REGION] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=str(JS_DIR), env=env)
    events = [json.loads(l) for l in p.stdout.splitlines()
              if l.strip().startswith("{")]
    assert p.returncode == expect_rc, (p.returncode, p.stdout[-3000:],
                                       p.stderr[-3000:])
    return events


def js_requests(events, command):
    return [e for e in events if e["event"] == "request"
            and e["command"] == command]


def js_done(events):
    done = [e for e in events if e["event"] == "done"]
    assert done, events[-5:]
    return done[-1]


@pytest.mark.parametrize("checksum", ["default", "WHEN_REQUIRED"])
def test_js_lib_storage_upload(s3, src, checksum):
    path, data = src(20 * MiB + 12345, 501)
    key = unique("js/upload-%s" % checksum) + "/clip.mp4"
    args = ["--bucket", BUCKET, "--key", key, "--file", path,
            "--part-size", 5 * MiB, "--queue-size", 3,
            "--content-type", "video/mp4"]
    if checksum != "default":
        args += ["--checksum", checksum]
    ev = run_node(s3, "upload", *args)
    parts = split_parts(data, 5 * MiB)
    etag = multipart_etag(parts)
    assert js_done(ev)["etag"] == etag
    ups = js_requests(ev, "UploadPartCommand")
    assert len(ups) == len(parts) == 5
    for u in ups:
        if checksum == "default":
            assert u["checksums"] == ["x-amz-checksum-crc32"], u
        else:
            assert u["checksums"] == [], u
    s3.check_object(BUCKET, key, data, etag=etag, content_type="video/mp4")


@pytest.mark.parametrize("checksum", ["default", "WHEN_REQUIRED"])
def test_js_put_object_stream(s3, src, checksum):
    """a stream body: by default the SDK sends it aws-chunked with
    STREAMING-UNSIGNED-PAYLOAD-TRAILER and an x-amz-checksum-crc32
    trailer, inside HTTP chunked transfer coding; with WHEN_REQUIRED as
    UNSIGNED-PAYLOAD"""
    path, data = src(3 * MiB + 999, 502)
    key = unique("js/stream-%s" % checksum) + "/s.bin"
    args = ["--bucket", BUCKET, "--key", key, "--file", path]
    if checksum != "default":
        args += ["--checksum", checksum]
    ev = run_node(s3, "put-stream", *args)
    (req,) = js_requests(ev, "PutObjectCommand")
    if checksum == "default":
        assert req["content_sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        assert req["content_encoding"] == "aws-chunked"
        assert req["trailer"] == "x-amz-checksum-crc32"
        assert req["decoded_length"] == str(len(data))
    else:
        assert req["content_sha256"] == "UNSIGNED-PAYLOAD"
    assert js_done(ev)["etag"] == part_etag(data)
    s3.check_object(BUCKET, key, data, etag=part_etag(data))


def test_js_presigned_upload_part_with_fetch(s3, src):
    path, data = src(12 * MiB + 4321, 503)
    key = unique("js/presigned") + "/p.mp4"
    ev = run_node(s3, "presign-parts", "--bucket", BUCKET, "--key", key,
                  "--file", path, "--part-size", 5 * MiB)
    parts = split_parts(data, 5 * MiB)
    got = [e for e in ev if e["event"] == "part"]
    assert [e["etag"] for e in got] == [part_etag(p) for p in parts]
    for e in got:
        assert "X-Amz-Signature=" in e["url"]
    etag = multipart_etag(parts)
    assert js_done(ev)["etag"] == etag
    s3.check_object(BUCKET, key, data, etag=etag)


def test_js_presigned_put_with_fetch(s3, src):
    path, data = src(200 * KiB + 1, 504)
    key = unique("js/presigned-put") + "/q.bin"
    ev = run_node(s3, "presign-put", "--bucket", BUCKET, "--key", key,
                  "--file", path)
    assert js_done(ev)["etag"] == part_etag(data)
    s3.check_object(BUCKET, key, data, etag=part_etag(data))


def test_js_presigned_put_with_empty_body_checksum_is_rejected(s3, src):
    """with the default WHEN_SUPPORTED the presigner puts the CRC32 of an
    empty body into the URL (x-amz-checksum-crc32=AAAAAA==); S3 treats
    x-amz-* query parameters of a presigned URL as headers and answers
    400 BadDigest for any other body"""
    path, data = src(100 * KiB, 505)
    key = unique("js/presigned-crc") + "/r.bin"
    before = s3.snapshot()
    ev = run_node(s3, "presign-put", "--bucket", BUCKET, "--key", key,
                  "--file", path, "--presign-checksum", "WHEN_SUPPORTED",
                  expect_rc=1)
    err = [e for e in ev if e["event"] == "error"][-1]
    assert "-> 400" in err["message"] and "BadDigest" in err["message"], err
    s3.assert_nothing_assembled(before, BUCKET, key)


# --------------------------------------------------------------------------
# rejections


def _expect(excinfo, status, code, message_re=None):
    got = client_error(excinfo)
    assert got[:2] == (status, code), got
    if message_re:
        assert re.search(message_re, got[2] or "", re.I), got


def test_reject_wrong_secret_and_unknown_key(s3):
    good = s3.boto()
    key = unique("rej/creds") + "/c.bin"
    data = payload(10 * KiB, 601)
    before = s3.snapshot()

    bad = s3.boto(sk=SK + "x")
    with pytest.raises(ClientError) as ei:
        bad.put_object(Bucket=BUCKET, Key=key, Body=data)
    _expect(ei, 403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as ei:
        bad.create_multipart_upload(Bucket=BUCKET, Key=key)
    _expect(ei, 403, "SignatureDoesNotMatch")

    # the secret of the other key
    with pytest.raises(ClientError) as ei:
        s3.boto(ak=AK2, sk=SK).put_object(Bucket=BUCKET, Key=key, Body=data)
    _expect(ei, 403, "SignatureDoesNotMatch")

    unknown = s3.boto(ak="AKIAUNKNOWNKEY000000")
    with pytest.raises(ClientError) as ei:
        unknown.put_object(Bucket=BUCKET, Key=key, Body=data)
    _expect(ei, 403, "InvalidAccessKeyId")

    # into an open upload: the part is not kept, the upload not completed
    uid = good.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    with pytest.raises(ClientError) as ei:
        bad.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                        Body=data)
    _expect(ei, 403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as ei:
        unknown.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                            PartNumber=1, Body=data)
    _expect(ei, 403, "InvalidAccessKeyId")
    assert good.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == []
    e1 = good.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                          Body=data)["ETag"]
    with pytest.raises(ClientError) as ei:
        bad.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    _expect(ei, 403, "SignatureDoesNotMatch")
    s3.assert_nothing_assembled(before, BUCKET, key)
    # still open
    assert [p["PartNumber"] for p in good.list_parts(
        Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]] == [1]
    good.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)

    # the second credential works (its account defaults to the key)
    other = s3.boto(ak=AK2, sk=SK2)
    other.put_object(Bucket=BUCKET, Key=key + ".k2", Body=data)
    s3.check_object(BUCKET, key + ".k2", data, client=other, owner=AK2)


def test_accounts_are_isolated(s3):
    """objects and uploads belong to the account of the access key"""
    alice, other = s3.boto(), s3.boto(ak=AK2, sk=SK2)
    key = unique("acct") + "/o.bin"
    data = payload(5000, 602)
    other.put_object(Bucket=BUCKET, Key=key, Body=data)
    with pytest.raises(ClientError) as ei:
        alice.get_object(Bucket=BUCKET, Key=key)
    _expect(ei, 403, "AccessDenied")
    with pytest.raises(ClientError) as ei:
        alice.head_object(Bucket=BUCKET, Key=key)
    assert client_error(ei)[0] == 403
    assert other.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data

    uid = alice.create_multipart_upload(Bucket=BUCKET, Key=key + ".mp")[
        "UploadId"]
    alice.upload_part(Bucket=BUCKET, Key=key + ".mp", UploadId=uid,
                      PartNumber=1, Body=data)
    for call in (
            lambda: other.list_parts(Bucket=BUCKET, Key=key + ".mp",
                                     UploadId=uid),
            lambda: other.upload_part(Bucket=BUCKET, Key=key + ".mp",
                                      UploadId=uid, PartNumber=2, Body=data),
            lambda: other.abort_multipart_upload(
                Bucket=BUCKET, Key=key + ".mp", UploadId=uid)):
        with pytest.raises(ClientError) as ei:
            call()
        assert client_error(ei)[:2] in ((404, "NoSuchUpload"),
                                        (403, "AccessDenied")), \
            client_error(ei)
    prefix = key.rsplit("/", 1)[0]
    assert not other.list_multipart_uploads(
        Bucket=BUCKET, Prefix=prefix).get("Uploads")
    assert [u["UploadId"] for u in alice.list_multipart_uploads(
        Bucket=BUCKET, Prefix=prefix)["Uploads"]] == [uid]
    assert [p["PartNumber"] for p in alice.list_parts(
        Bucket=BUCKET, Key=key + ".mp", UploadId=uid)["Parts"]] == [1]
    alice.abort_multipart_upload(Bucket=BUCKET, Key=key + ".mp",
                                 UploadId=uid)


def test_reject_anonymous(s3):
    key = unique("rej/anon") + "/a.bin"
    before = s3.snapshot()
    r = requests.put(s3.endpoint + "/%s/%s" % (BUCKET, key), data=b"x" * 100,
                     timeout=30)
    assert_s3_error(r.status_code, r.content, 403, "AccessDenied")
    r = requests.post(s3.endpoint + "/%s/%s?uploads" % (BUCKET, key),
                      timeout=30)
    assert_s3_error(r.status_code, r.content, 403, "AccessDenied")
    with pytest.raises(ClientError) as ei:
        s3.boto(signed=False).put_object(Bucket=BUCKET, Key=key, Body=b"x")
    _expect(ei, 403, "AccessDenied")
    s3.assert_nothing_assembled(before, BUCKET, key)
    # and objects are not readable anonymously either
    c = s3.boto()
    c.put_object(Bucket=BUCKET, Key=key + ".r", Body=b"secret")
    r = requests.get(s3.endpoint + "/%s/%s.r" % (BUCKET, key), timeout=30)
    assert_s3_error(r.status_code, r.content, 403, "AccessDenied")


def test_reject_presigned_tampered_expired_too_long(s3):
    c = s3.boto()
    key = unique("rej/presign") + "/p.bin"
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    data = payload(20 * KiB, 610)
    before = s3.snapshot()

    def put(url_path, body=data):
        return requests.put(s3.endpoint + url_path, data=body, timeout=30)

    # a valid one first (the signer is right): then tamper with it
    url = c.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
    u = urllib.parse.urlsplit(url)
    # another key
    r = put(u.path + ".other?" + u.query)
    assert_s3_error(r.status_code, r.content, 403, "SignatureDoesNotMatch")
    # a longer expiry
    r = put(u.path + "?" + u.query.replace("X-Amz-Expires=600",
                                           "X-Amz-Expires=6000"))
    assert_s3_error(r.status_code, r.content, 403, "SignatureDoesNotMatch")
    # a signature digit
    m = re.search(r"X-Amz-Signature=([0-9a-f]+)", u.query)
    sig = m.group(1)
    bad = ("0" if sig[0] != "0" else "1") + sig[1:]
    r = put(u.path + "?" + u.query.replace(sig, bad))
    assert_s3_error(r.status_code, r.content, 403, "SignatureDoesNotMatch")
    s3.assert_nothing_assembled(before, BUCKET, key)
    s3.assert_nothing_assembled(before, BUCKET, key + ".other")

    # an UploadPart URL used for another part number / upload
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    purl = urllib.parse.urlsplit(c.generate_presigned_url(
        "upload_part", Params={"Bucket": BUCKET, "Key": key, "UploadId": uid,
                               "PartNumber": 1}, ExpiresIn=600))
    r = put(purl.path + "?" + purl.query.replace("partNumber=1",
                                                 "partNumber=2"))
    assert_s3_error(r.status_code, r.content, 403, "SignatureDoesNotMatch")
    assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == []

    # expired: signed an hour ago for 60 s
    now = time.time()
    r = put(presign("PUT", path, s3.host, t=now - 3600, expires=60))
    assert_s3_error(r.status_code, r.content, 403, "AccessDenied",
                    "^Request has expired$")
    # the same signer, not expired: accepted (so the above is the expiry)
    r = put(presign("PUT", path, s3.host, t=now - 30, expires=600))
    assert r.status_code == 200, (r.status_code, r.text[:600])
    assert r.headers["ETag"] == part_etag(data)
    s3.check_object(BUCKET, key, data, etag=part_etag(data))

    before = s3.snapshot()
    key2 = key + ".long"
    path2 = "/%s/%s" % (BUCKET, uri_encode(key2, keep_slash=True))
    r = put(presign("PUT", path2, s3.host, expires=604801))
    assert_s3_error(r.status_code, r.content, 400,
                    "AuthorizationQueryParametersError")
    r = put(presign("PUT", path2, s3.host, expires=0))
    assert_s3_error(r.status_code, r.content, 400,
                    "AuthorizationQueryParametersError")
    # 604800 (7 days) is the longest allowed
    r = put(presign("PUT", path2, s3.host, expires=604800))
    assert r.status_code == 200, (r.status_code, r.text[:600])
    c.delete_object(Bucket=BUCKET, Key=key2)
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60])
def test_reject_skewed_clock(s3, offset):
    c = s3.boto()
    key = unique("rej/skew") + "/s.bin"
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    data = payload(30 * KiB, 620)
    before = s3.snapshot()
    r, _ = s3.signed("PUT", path, body=data, t=time.time() + offset)
    assert_s3_error(r.status, r.body, 403, "RequestTimeTooSkewed")
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    r, _ = s3.signed("PUT", path, [("partNumber", "1"), ("uploadId", uid)],
                     body=data, t=time.time() + offset)
    assert_s3_error(r.status, r.body, 403, "RequestTimeTooSkewed")
    assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == []
    # 10 minutes off is within ingest_s3_max_skew (15m)
    r, _ = s3.signed("PUT", path, [("partNumber", "1"), ("uploadId", uid)],
                     body=data, t=time.time() + offset / 2)
    assert r.status == 200, (r.status, r.body[:600])
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    s3.assert_nothing_assembled(before, BUCKET, key)


def _two_part_upload(c, key, small_first=False, bucket=BUCKET, seed=630):
    """an open upload with parts 1 (5 MiB, or 1 KiB) and 2 (1 KiB)"""
    uid = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1 = payload(KiB, seed) if small_first else big_payload(5 * MiB, seed)
    p2 = payload(KiB + 1, seed + 1)
    e1 = c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1,
                       Body=p1)["ETag"]
    e2 = c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2,
                       Body=p2)["ETag"]
    return uid, [p1, p2], [e1, e2]


def _complete_xml(parts):
    return ("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
            "2006-03-01/\">" + "".join(
                "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>"
                % (n, e) for n, e in parts) +
            "</CompleteMultipartUpload>").encode()


def test_reject_complete_bad_xml_order_etag(s3):
    c = s3.boto()
    key = unique("rej/complete") + "/c.bin"
    uid, bodies, etags = _two_part_upload(c, key)
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    before = s3.snapshot()

    def complete_raw(body):
        r, _ = s3.signed("POST", path, [("uploadId", uid)],
                         {"Content-Type": "application/xml"}, body)
        return r

    for bad in (b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
                b"not xml at all",
                b"<CompleteMultipartUpload></CompleteMultipartUpload>",
                b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
                b"<ETag>\"a\"</ETag></Part></CompleteMultipartUpload>",
                b""):
        r = complete_raw(bad)
        assert_s3_error(r.status, r.body, 400, "MalformedXML")

    r = complete_raw(_complete_xml([(2, etags[1]), (1, etags[0])]))
    assert_s3_error(r.status, r.body, 400, "InvalidPartOrder")
    with pytest.raises(ClientError) as ei:
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]},
                                       {"PartNumber": 1, "ETag": etags[0]}]})
    _expect(ei, 400, "InvalidPartOrder")

    wrong = '"%s"' % md5_hex(b"something else")
    with pytest.raises(ClientError) as ei:
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]},
                                       {"PartNumber": 2, "ETag": wrong}]})
    _expect(ei, 400, "InvalidPart")
    # a part that was never uploaded
    with pytest.raises(ClientError) as ei:
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]},
                                       {"PartNumber": 3, "ETag": etags[1]}]})
    _expect(ei, 400, "InvalidPart")
    s3.assert_nothing_assembled(before, BUCKET, key)

    # the upload survived every failed Complete: the right one works
    lp = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
    assert [p["ETag"] for p in lp] == etags
    done = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})
    assert done["ETag"] == multipart_etag(bodies)
    s3.check_object(BUCKET, key, b"".join(bodies),
                    etag=multipart_etag(bodies))
    # a second Complete of the same upload id
    with pytest.raises(ClientError) as ei:
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                       for n, e in enumerate(etags, 1)]})
    _expect(ei, 404, "NoSuchUpload")


def test_reject_entity_too_small(s3):
    c = s3.boto()
    key = unique("rej/small") + "/s.bin"
    uid, bodies, etags = _two_part_upload(c, key, small_first=True)
    before = s3.snapshot()
    with pytest.raises(ClientError) as ei:
        c.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                       for n, e in enumerate(etags, 1)]})
    _expect(ei, 400, "EntityTooSmall")
    s3.assert_nothing_assembled(before, BUCKET, key)
    # a single small part is fine: it is the last one
    done = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]}]})
    assert done["ETag"] == multipart_etag(bodies[:1])
    s3.check_object(BUCKET, key, bodies[0], etag=multipart_etag(bodies[:1]))


def test_reject_unknown_upload_id(s3):
    c = s3.boto()
    key = unique("rej/nosuch") + "/n.bin"
    fake = "0" * 32
    before = s3.snapshot()
    for call in (
            lambda u: c.upload_part(Bucket=BUCKET, Key=key, UploadId=u,
                                    PartNumber=1, Body=b"abc"),
            lambda u: c.list_parts(Bucket=BUCKET, Key=key, UploadId=u),
            lambda u: c.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=u,
                MultipartUpload={"Parts": [{"PartNumber": 1,
                                            "ETag": part_etag(b"abc")}]}),
            lambda u: c.abort_multipart_upload(Bucket=BUCKET, Key=key,
                                               UploadId=u)):
        with pytest.raises(ClientError) as ei:
            call(fake)
        _expect(ei, 404, "NoSuchUpload")
        # ids that cannot be ours: S3 says NoSuchUpload, InvalidArgument
        # is as good (never a path outside the store)
        for u in ("no-such-upload", "../../etc/passwd", "..", "%00"):
            with pytest.raises(ClientError) as ei:
                call(u)
            assert client_error(ei)[:2] in ((404, "NoSuchUpload"),
                                            (400, "InvalidArgument")), \
                client_error(ei)
    # a real upload id under another key
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    with pytest.raises(ClientError) as ei:
        c.upload_part(Bucket=BUCKET, Key=key + ".other", UploadId=uid,
                      PartNumber=1, Body=b"abc")
    _expect(ei, 404, "NoSuchUpload")
    assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == []
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    s3.assert_nothing_assembled(before, BUCKET, key)
    s3.assert_nothing_assembled(before, BUCKET, key + ".other")


def test_reject_content_sha256_mismatch(s3):
    c = s3.boto()
    key = unique("rej/sha") + "/h.bin"
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    q = [("partNumber", "1"), ("uploadId", uid)]
    data = big_payload(MiB + 5, 640)
    before = s3.snapshot()

    r, _ = s3.signed("PUT", path, q, body=data,
                     payload_hash=sha256(data[:-1] + b"!"))
    assert_s3_error(r.status, r.body, 400, "XAmzContentSHA256Mismatch")
    assert c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid).get(
        "Parts", []) == [], "the mismatching part is listed"

    # over an existing part: the old part stays as it was
    good = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                         Body=data)["ETag"]
    other = big_payload(MiB + 5, 641)
    r, _ = s3.signed("PUT", path, q, body=other, payload_hash=sha256(data))
    assert_s3_error(r.status, r.body, 400, "XAmzContentSHA256Mismatch")
    lp = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp] == \
        [(1, good, len(data))]

    # PutObject
    r, _ = s3.signed("PUT", path + ".put", body=data,
                     payload_hash=sha256(b"x"))
    assert_s3_error(r.status, r.body, 400, "XAmzContentSHA256Mismatch")
    s3.assert_nothing_assembled(before, BUCKET, key + ".put")

    # and the upload still completes with the good part
    done = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": good}]})
    s3.check_object(BUCKET, key, data, etag=done["ETag"])


def test_reject_bucket_not_served(s3):
    c = s3.boto()
    key = unique("rej/bucket") + "/b.bin"
    before = s3.snapshot()
    for bucket in ("other-bucket", "videos2"):
        with pytest.raises(ClientError) as ei:
            c.put_object(Bucket=bucket, Key=key, Body=b"abc")
        _expect(ei, 404, "NoSuchBucket")
        with pytest.raises(ClientError) as ei:
            c.create_multipart_upload(Bucket=bucket, Key=key)
        _expect(ei, 404, "NoSuchBucket")
        with pytest.raises(ClientError) as ei:
            c.head_bucket(Bucket=bucket)
        assert client_error(ei)[0] == 404
        assert not (s3.store / "buckets" / bucket).exists()
    s3.assert_nothing_assembled(before, BUCKET, key)


def test_reject_entity_too_large(s3):
    c = s3.boto(endpoint=s3.lim_endpoint)
    key = unique("rej/large") + "/l.bin"
    before = s3.snapshot(s3.lim_store)

    with pytest.raises(ClientError) as ei:
        c.put_object(Bucket=LIMIT_BUCKET, Key=key,
                     Body=big_payload(LIMIT_MAX + 1, 650))
    _expect(ei, 400, "EntityTooLarge")
    s3.assert_nothing_assembled(before, LIMIT_BUCKET, key, s3.lim_store)

    # multipart: 5 MiB + 2 MiB > 6 MiB, refused at UploadPart or Complete
    uid = c.create_multipart_upload(Bucket=LIMIT_BUCKET,
                                    Key=key)["UploadId"]
    p1, p2 = big_payload(5 * MiB, 651), big_payload(2 * MiB, 652)
    e1 = c.upload_part(Bucket=LIMIT_BUCKET, Key=key, UploadId=uid,
                       PartNumber=1, Body=p1)["ETag"]
    try:
        e2 = c.upload_part(Bucket=LIMIT_BUCKET, Key=key, UploadId=uid,
                           PartNumber=2, Body=p2)["ETag"]
    except ClientError as e:
        assert (e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"]["Code"]) == (400, "EntityTooLarge")
    else:
        with pytest.raises(ClientError) as ei:
            c.complete_multipart_upload(
                Bucket=LIMIT_BUCKET, Key=key, UploadId=uid,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                           {"PartNumber": 2, "ETag": e2}]})
        _expect(ei, 400, "EntityTooLarge")
    s3.assert_nothing_assembled(before, LIMIT_BUCKET, key, s3.lim_store)
    c.abort_multipart_upload(Bucket=LIMIT_BUCKET, Key=key, UploadId=uid)

    # at the limit it works, through the /lim prefix
    data = big_payload(LIMIT_MAX, 653)
    c.put_object(Bucket=LIMIT_BUCKET, Key=key, Body=data)
    s3.check_object(LIMIT_BUCKET, key, data, etag=part_etag(data),
                    store=s3.lim_store, endpoint=s3.lim_endpoint)
    assert s3.object_id(LIMIT_BUCKET, key) is None, \
        "the /lim object landed in the root API's store"


def test_cors_preflight_exposes_etag(s3):
    key = unique("cors") + "/c.bin"
    url = s3.endpoint + "/%s/%s?partNumber=1&uploadId=x" % (BUCKET, key)
    r = requests.options(url, headers={
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers":
            "authorization,x-amz-date,x-amz-content-sha256,content-type"},
        timeout=30)
    assert r.status_code in (200, 204), (r.status_code, r.text[:500])
    assert r.headers.get("Access-Control-Allow-Origin") in (
        "*", "https://app.example"), r.headers
    methods = r.headers.get("Access-Control-Allow-Methods", "").upper()
    for m in ("PUT", "POST", "GET", "DELETE"):
        assert m in methods, methods
    allowed = r.headers.get("Access-Control-Allow-Headers", "").lower()
    assert allowed == "*" or all(
        h in allowed for h in ("authorization", "x-amz-date",
                               "x-amz-content-sha256")), allowed
    assert "etag" in r.headers.get("Access-Control-Expose-Headers",
                                   "").lower(), r.headers

    # an actual cross-origin upload exposes ETag too
    data = payload(1000, 660)
    s = Signed("PUT", "/%s/%s" % (BUCKET, key), headers={
        "Origin": "https://app.example"}, body=data, host=s3.host)
    r = s3.raw("PUT", s.target, s.headers, data)
    assert r.status == 200, (r.status, r.body[:500])
    assert r.headers.get("Access-Control-Allow-Origin") in (
        "*", "https://app.example"), r.headers
    assert "etag" in r.headers.get("Access-Control-Expose-Headers",
                                   "").lower(), r.headers
    assert r.headers["ETag"] == part_etag(data)


# --------------------------------------------------------------------------
# metrics


class Deltas:
    """exact deltas of /metrics series between two points"""

    def __init__(self, srv):
        self.srv = srv
        self.before = srv.metrics()

    def delta(self, m, name, **labels):
        return m.get(name, **labels) - self.before.get(name, **labels)

    def wait(self, want, timeout=10):
        """want: {(name, frozenset(labels)): delta}; counters are added in
        the log phase, after the response: poll until they are there"""
        def check():
            m = self.srv.metrics()
            got = {k: self.delta(m, k[0], **dict(k[1])) for k in want}
            return got if got == want else None
        try:
            return wait_until(check, timeout=timeout,
                              what="metrics deltas %r" % want)
        except AssertionError:
            m = self.srv.metrics()
            got = {k: self.delta(m, k[0], **dict(k[1])) for k in want}
            raise AssertionError("metrics deltas: want %r, got %r"
                                 % (want, got))


def series(name, **labels):
    return (name, frozenset(labels.items()))


def test_metrics_count_s3_uploads(s3):
    c = s3.boto()
    d = Deltas(s3.srv)
    key = unique("metrics") + "/m.bin"
    parts = [big_payload(5 * MiB, 670), big_payload(MiB, 671)]
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = [c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=n, Body=b)["ETag"]
             for n, b in enumerate(parts, 1)]
    c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, 1)]})
    s3.check_object(BUCKET, key, b"".join(parts),
                    etag=multipart_etag(parts))
    P = {"protocol": "s3"}
    d.wait({
        series("ingest_uploads_created_total", **P): 1,
        series("ingest_uploads_completed_total", **P): 1,
        series("ingest_uploads_terminated_total", **P): 0,
        series("ingest_upload_bytes_received_total", **P):
            sum(len(p) for p in parts),
        series("ingest_upload_parts_total", result="ok", **P): 2,
        series("ingest_upload_parts_total", result="client_error", **P): 0,
        series("ingest_spool_jobs_total", **P): 1,
        series("ingest_spool_errors_total", **P): 0,
        series("ingest_uploads_active", **P): 0,
        series("ingest_upload_part_duration_seconds_count", **P): 2,
        # create, 2 parts, complete, and the HEAD and GET of check_object
        series("ingest_http_requests_total", module="s3",
               **{"class": "2xx"}): 6,
        series("ingest_http_requests_total", module="s3",
               **{"class": "4xx"}): 0,
    })

    # an abort
    d = Deltas(s3.srv)
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                  Body=b"abc")
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    d.wait({series("ingest_uploads_created_total", **P): 1,
            series("ingest_uploads_terminated_total", **P): 1,
            series("ingest_uploads_completed_total", **P): 0,
            series("ingest_upload_bytes_received_total", **P): 3,
            series("ingest_uploads_active", **P): 0})


def test_metrics_count_auth_failures(s3):
    key = unique("metrics-auth") + "/a.bin"
    path = "/%s/%s" % (BUCKET, uri_encode(key, keep_slash=True))
    d = Deltas(s3.srv)
    with pytest.raises(ClientError):
        s3.boto(sk="wrong").put_object(Bucket=BUCKET, Key=key, Body=b"x")
    with pytest.raises(ClientError):
        s3.boto(ak="AKIAUNKNOWNKEY000000").put_object(Bucket=BUCKET, Key=key,
                                                      Body=b"x")
    r, _ = s3.signed("PUT", path, body=b"x", t=time.time() - 3600)
    assert r.status == 403
    r = requests.put(s3.endpoint + presign("PUT", path, s3.host,
                                           t=time.time() - 3600, expires=60),
                     data=b"x", timeout=30)
    assert r.status_code == 403
    d.wait({series("ingest_s3_auth_failures_total", reason="signature"): 1,
            series("ingest_s3_auth_failures_total", reason="access_key"): 1,
            series("ingest_s3_auth_failures_total", reason="clock_skew"): 1,
            series("ingest_s3_auth_failures_total", reason="expired"): 1,
            series("ingest_http_requests_total", module="s3",
                   **{"class": "4xx"}): 4})
    assert s3.srv.metrics().types.get(
        "ingest_s3_auth_failures_total") == "counter"


# --------------------------------------------------------------------------
# parts written in place (docs/s3.md "Storage"): parts of the first 5 MiB+
# part's size go straight into the upload's data file, so completion
# renames instead of copying; every other shape is assembled by copying.


def _completion_mode(s3, upload_id):
    """"in place" or "assembled", from the completion's log line"""
    for line in s3.srv.read_log().splitlines():
        if ("upload %s " % upload_id) in line and "completed" in line:
            return "in place" if ", in place" in line else "assembled"
    raise AssertionError("no completion logged for %s" % upload_id)


def _multipart(s3, key, parts, complete=None, order=None):
    """uploads parts {number: bytes} (in order, default ascending), then
    completes with the numbers in complete (default all); returns
    (upload id, the completed bytes, the ETag)"""
    c = s3.boto()
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = {}
    for n in (order or sorted(parts)):
        r = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                          PartNumber=n, Body=parts[n])
        etags[n] = r["ETag"]
        assert r["ETag"] == part_etag(parts[n])
    nums = complete or sorted(parts)
    r = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]}
                                   for n in nums]})
    data = b"".join(parts[n] for n in nums)
    assert r["ETag"] == multipart_etag([parts[n] for n in nums])
    return uid, data, r["ETag"]


def test_uniform_parts_complete_in_place(s3):
    parts = {1: payload(5 * MiB, 1), 2: payload(5 * MiB, 2),
             3: payload(MiB + 7, 3)}
    key = unique("inplace/uniform")
    uid, data, etag = _multipart(s3, key, parts)
    assert _completion_mode(s3, uid) == "in place"
    s3.check_object(BUCKET, key, data, etag=etag)
    assert not (s3.store / "uploads" / uid).exists()


def test_parts_out_of_order_still_in_place(s3):
    parts = {1: payload(5 * MiB, 4), 2: payload(5 * MiB, 5),
             3: payload(5 * MiB, 6), 4: payload(123, 7)}
    key = unique("inplace/reversed")
    uid, data, etag = _multipart(s3, key, parts, order=[3, 1, 4, 2])
    assert _completion_mode(s3, uid) == "in place"
    s3.check_object(BUCKET, key, data, etag=etag)


def test_replaced_part_is_assembled_with_the_new_bytes(s3):
    c = s3.boto()
    key = unique("inplace/replaced")
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    p1, p2_old, p2_new = (payload(5 * MiB, 8), payload(5 * MiB, 9),
                          payload(5 * MiB, 10))
    e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                       Body=p1)["ETag"]
    c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=2,
                  Body=p2_old)
    e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=2,
                       Body=p2_new)["ETag"]
    listed = c.list_parts(Bucket=BUCKET, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == \
        [(1, e1, len(p1)), (2, e2, len(p2_new))]
    r = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    assert _completion_mode(s3, uid) == "assembled"
    s3.check_object(BUCKET, key, p1 + p2_new, etag=r["ETag"])


def test_uneven_parts_are_copied_from_the_data_file(s3):
    # part 1 fixes the stride at 6 MiB; parts 2 and 3 fit below it and go
    # in place too, but the object is not their layout: assembled
    parts = {1: payload(6 * MiB, 11), 2: payload(5 * MiB, 12),
             3: payload(1000, 13)}
    key = unique("inplace/uneven")
    uid, data, etag = _multipart(s3, key, parts)
    assert _completion_mode(s3, uid) == "assembled"
    s3.check_object(BUCKET, key, data, etag=etag)


def test_subset_of_parts_is_assembled(s3):
    parts = {1: payload(5 * MiB, 14), 2: payload(5 * MiB, 15),
             3: payload(2 * MiB, 16)}
    key = unique("inplace/subset")
    uid, data, etag = _multipart(s3, key, parts, complete=[1, 3])
    assert _completion_mode(s3, uid) == "assembled"
    s3.check_object(BUCKET, key, data, etag=etag)


def test_part_larger_than_the_stride_gets_its_own_file(s3):
    parts = {1: payload(5 * MiB, 17), 2: payload(7 * MiB, 18),
             3: payload(10, 19)}
    key = unique("inplace/larger")
    uid, data, etag = _multipart(s3, key, parts)
    assert _completion_mode(s3, uid) == "assembled"
    s3.check_object(BUCKET, key, data, etag=etag)


def test_abort_removes_the_data_file(s3):
    c = s3.boto()
    key = unique("inplace/abort")
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1,
                  Body=payload(5 * MiB, 20))
    d = s3.store / "uploads" / uid
    assert (d / "data").stat().st_size == 5 * MiB
    c.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
    assert not d.exists()
    assert not (s3.store / "uploads" / (uid + ".info")).exists()


def test_complete_after_a_crash_between_rename_and_publish(s3):
    # the state a kill -9 leaves in the middle of an in-place completion:
    # the data file already renamed into objects/, nothing published yet;
    # the client's retry of CompleteMultipartUpload publishes it
    parts = {1: payload(5 * MiB, 21), 2: payload(5 * MiB, 22),
             3: payload(1000, 23)}
    key = unique("inplace/crashed")
    c = s3.boto()
    uid = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    etags = [c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                           PartNumber=n, Body=parts[n])["ETag"]
             for n in (1, 2, 3)]
    data = parts[1] + parts[2] + parts[3]
    src = s3.store / "uploads" / uid / "data"
    assert src.stat().st_size > len(data) - 1000
    os.truncate(src, len(data))
    os.rename(src, s3.store / "objects" / uid)

    r = c.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n - 1]}
                                   for n in (1, 2, 3)]})
    assert r["ETag"] == multipart_etag([parts[1], parts[2], parts[3]])
    s3.check_object(BUCKET, key, data, etag=r["ETag"])
    assert not (s3.store / "uploads" / uid).exists()
    assert not (s3.store / "uploads" / (uid + ".info")).exists()
