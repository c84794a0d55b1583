"""
Security checks listed in docs/security.md that are not covered by the
protocol suites: request smuggling through Transfer-Encoding plus
Content-Length, path traversal through tus URLs and S3 keys and bucket
names, and the tus and S3 APIs over HTTP/2 (h2c, as behind a TLS
terminating proxy speaking HTTP/2 to the origin).
"""

import hashlib
import subprocess

import pytest

from harness import (Conf, NginxServer, TUS_HDR, OCTET, MiB, KiB,
                     big_payload, free_port, sha256, sha256_file)

try:
    import boto3
    from botocore.config import Config as BotoConfig
except ImportError:             # pragma: no cover
    boto3 = None


AK, SK = "AKIASECURITYTEST0001", "security-secret-0001"
BUCKET = "media"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("nginx-security")
    c = Conf(prefix)
    for d in ("tmp", "incoming"):
        (c.spool / d).mkdir(parents=True, exist_ok=True)
    c.location("/files/", "tus on;", "tus_store %s;" % c.store("tus"),
               "tus_spool %s;" % c.spool, "client_max_body_size 0;")
    c.location("/", "ingest_s3 on;", "ingest_s3_store %s;" % c.store("s3"),
               "ingest_s3_credentials %s %s alice;" % (AK, SK),
               "ingest_s3_buckets %s;" % BUCKET, "client_max_body_size 0;")
    # the same locations over cleartext HTTP/2 on a second port
    c.h2_port = free_port()
    c.raw_http.append(
        "server {\n"
        "    listen 127.0.0.1:%d http2;\n"
        "    location /files/ { tus on; tus_store %s; tus_spool %s;"
        " client_max_body_size 0; }\n"
        "    location / { ingest_s3 on; ingest_s3_store %s;"
        " ingest_s3_credentials %s %s alice; client_max_body_size 0; }\n"
        "}" % (c.h2_port, c.stores["tus"], c.spool, c.stores["s3"], AK, SK))
    s = NginxServer(c)
    s.start()
    s.h2_port = c.h2_port
    yield s
    s.stop()
    s.assert_clean_log()


def boto(port):
    return boto3.client(
        "s3", endpoint_url="http://127.0.0.1:%d" % port,
        region_name="us-east-1", aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=BotoConfig(s3={"addressing_style": "path"},
                          signature_version="s3v4"))


def test_transfer_encoding_and_content_length_is_refused(srv):
    tus = srv.tus()
    url, uid = tus.create_ok(100)
    path = url[len(srv.url("/")) - 1:]
    store = srv.conf.stores["tus"] / uid
    smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"5\r\nhello\r\n0\r\n\r\n" + smuggled

    conn = srv.connect()
    conn.send_head("PATCH", path,
                   dict(TUS_HDR, **{"Upload-Offset": "0",
                                    "Content-Type": OCTET,
                                    "Transfer-Encoding": "chunked",
                                    "Content-Length": str(len(body))}))
    conn.send(body)
    r = conn.read_response("PATCH")
    assert r.status == 400, r.status
    assert r.headers.get("connection", "").lower() == "close"
    conn.close()
    # nothing of either interpretation reached the upload
    assert store.stat().st_size == 0
    assert tus.offset(url) == 0


def test_tus_url_traversal_is_not_an_upload(srv):
    tus = srv.tus()
    for bad in ("../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "a" * 31 + "/", "0" * 31 + "G", "0" * 33):
        r = tus.head(srv.url("/files/") + bad)
        # 404 from tus, or the S3 location's 403 for an anonymous request
        # when the client or nginx resolved the dots: never an upload
        assert r.status_code in (400, 403, 404), (bad, r.status_code)


@pytest.mark.skipif(boto3 is None, reason="python3-boto3 is missing")
def test_s3_keys_cannot_leave_the_store(srv, tmp_path):
    c = boto(srv.port)
    store = srv.conf.stores["s3"]
    outside = srv.conf.prefix / "outside"
    stored = 0
    for key in ("../../outside", "../objects/x", "a/../../../outside",
                "/abs/../../outside", "a/../b", "..", "."):
        data = hashlib.sha256(key.encode()).digest() * 10
        idx = store / "buckets" / BUCKET / hashlib.sha256(
            key.encode()).hexdigest()
        try:
            c.put_object(Bucket=BUCKET, Key=key, Body=data)
        except Exception as e:
            # nginx refuses a URI that climbs above its root with 400
            assert "400" in str(e), (key, e)
            assert not idx.exists(), key
            continue
        got = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert got == data, key
        # the index entry is the key's SHA-256 under the bucket
        assert idx.is_file(), key
        stored += 1
    assert stored >= 2
    assert not outside.exists()
    # every file the API created is below the store
    for p in srv.conf.prefix.rglob("*"):
        if p.is_file() and "outside" in p.name:
            pytest.fail("a file outside the store: %s" % p)


@pytest.mark.skipif(boto3 is None, reason="python3-boto3 is missing")
def test_s3_bucket_names_are_checked(srv):
    c = boto(srv.port)
    for bucket in ("..", "a..b", "UPPER", "x"):
        with pytest.raises(Exception) as ei:
            c.put_object(Bucket=bucket, Key="k", Body=b"x")
        assert any(code in str(ei.value) for code in
                   ("InvalidBucketName", "NoSuchBucket", "400", "404")), \
            (bucket, ei.value)


def curl_h2(*args):
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge",
                        "-o", "/dev/null", "-w", "%{http_version} "
                        "%{http_code}"] + list(args),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    version, code = r.stdout.split()
    return version, int(code)


def test_tus_upload_over_http2(srv, tmp_path):
    data = big_payload(3 * MiB + 17, 81)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    base = "http://127.0.0.1:%d/files/" % srv.h2_port
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-",
                        "-o", "/dev/null", "-X", "POST",
                        "-H", "Tus-Resumable: 1.0.0",
                        "-H", "Upload-Length: %d" % len(data), base],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/2 201"), r.stdout
    loc = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
           if l.lower().startswith("location:")][0]
    uid = loc.rstrip("/").rsplit("/", 1)[1]
    version, code = curl_h2("-X", "PATCH", "-H", "Tus-Resumable: 1.0.0",
                            "-H", "Upload-Offset: 0",
                            "-H", "Content-Type: " + OCTET,
                            "--data-binary", "@%s" % src, base + uid)
    assert (version, code) == ("2", 204)
    assert sha256_file(srv.conf.stores["tus"] / uid) == sha256(data)


@pytest.mark.skipif(boto3 is None, reason="python3-boto3 is missing")
def test_s3_presigned_put_over_http2(srv, tmp_path):
    # SigV4 signs the Host; over HTTP/2 nginx takes it from :authority
    data = big_payload(MiB + 5, 82)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    url = boto(srv.h2_port).generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "h2/obj"},
        ExpiresIn=300)
    version, code = curl_h2("-X", "PUT", "--data-binary", "@%s" % src, url)
    assert (version, code) == ("2", 200)
    got = boto(srv.port).get_object(Bucket=BUCKET, Key="h2/obj")
    assert got["Body"].read() == data
