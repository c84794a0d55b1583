"""
Webhooks: job done / failed POSTed as JSON with an HMAC-SHA256 signature
header, retried with backoff when the receiver fails (a receiver on
loopback that fails twice, then succeeds), persisted across restarts,
and given up after webhook_attempts tries.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import TEST_CONF, wait_for


SECRET = "s3cret-for-tests"


class Receiver:
    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.requests.append((dict(self.headers), body))
                    n = len(outer.requests)
                code = 500 if n <= outer.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def hook_worker(worker, extra=""):
    conf = TEST_CONF.format(workers=1, max_attempts=3) + \
        'webhook_secret "%s";\n' % SECRET + extra
    w = worker(conf=conf).start()
    wait_for(lambda: "webhook process ready" in w.log(), "webhooks")
    return w


def verify(headers, body):
    sig = headers["X-Ingest-Signature"]
    t, v1 = sig.split(",")
    assert t.startswith("t=") and v1.startswith("v1=")
    mac = hmac.new(SECRET.encode(), t[2:].encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, v1[3:])
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def pending(w):
    d = w.spool / "webhooks"
    return sorted(p.name for p in d.glob("*.json")) if d.exists() else []


def test_done_webhook_retried_until_delivered(worker, clips):
    r = Receiver(fail_first=2)
    try:
        w = hook_worker(worker)
        w.submit("wh", clips.get("small"), webhook=r.url)
        assert w.wait_final("wh") == "done"

        wait_for(lambda: r.count() == 3 and not pending(w), "3 tries")

        bodies = [b for _, b in r.requests]
        assert bodies[0] == bodies[1] == bodies[2]

        for headers, body in r.requests:
            assert headers["X-Ingest-Event"] == "job.done"
            ev = verify(headers, body)
        assert ev["event"] == "job.done" and ev["id"] == "wh"
        assert ev["playlist"] == "wh/master.m3u8"
        assert ev["error"] is None
        assert ev["job"]["id"] == "wh"
        assert ev["job"]["result"]["mode"] == "transcode"

        log = w.log()
        assert "try 1 failed (HTTP 500)" in log
        assert "try 2 failed (HTTP 500)" in log
        assert "delivered (try 3)" in log
        w.stop()
    finally:
        r.close()


def test_failed_webhook_says_why(worker, clips):
    r = Receiver()
    try:
        w = hook_worker(worker)
        w.submit("whf", clips.get("text"), webhook=r.url)
        assert w.wait_final("whf") == "failed"
        wait_for(lambda: r.count() == 1 and not pending(w), "the webhook")

        headers, body = r.requests[0]
        ev = verify(headers, body)
        assert ev["event"] == "job.failed"
        assert "not an audio or video file" in ev["error"]
        assert ev["playlist"] is None
        w.stop()
    finally:
        r.close()


def test_default_url_and_persistence(worker, clips):
    # the receiver is down: the record waits in the spool across a
    # restart of the worker, and goes out when the receiver is back
    r = Receiver(fail_first=10 ** 6)
    try:
        w = hook_worker(worker, "webhook_url %s;\n" % r.url)
        w.submit("whp", clips.get("small"))      # no "webhook" of its own
        assert w.wait_final("whp") == "done"
        # a stop aborts a transfer in flight (and does not count it): the
        # first failure must be on record before the stop
        wait_for(lambda: "try 1 failed" in w.log(), "a first try")
        w.stop()

        assert pending(w) == ["whp.job.done.json"]
        rec = json.loads((w.spool / "webhooks" / pending(w)[0]).read_text())
        assert rec["attempts"] >= 1 and rec["last_error"] == "HTTP 500"

        r.fail_first = 0
        n = r.count()
        w.start()
        wait_for(lambda: not pending(w), "the delivery after the restart")
        assert r.count() == n + 1
        assert verify(*r.requests[-1])["id"] == "whp"
        w.stop()
    finally:
        r.close()


def test_gives_up_after_attempts(worker, clips):
    r = Receiver(fail_first=10 ** 6)
    try:
        w = hook_worker(worker, "webhook_attempts 2;\n")
        w.submit("whg", clips.get("small"), webhook=r.url)
        assert w.wait_final("whg") == "done"

        dead = w.spool / "webhooks" / "failed" / "whg.job.done.json"
        wait_for(dead.exists, "the record in webhooks/failed/")
        assert r.count() == 2 and not pending(w)
        assert json.loads(dead.read_text())["attempts"] == 2
        assert "giving up after 2 tries" in w.log()
        w.stop()
    finally:
        r.close()


def test_no_target_no_record(worker, clips):
    w = hook_worker(worker)
    w.submit("none", clips.get("small"))
    assert w.wait_final("none") == "done"
    w.stop()
    assert pending(w) == []
