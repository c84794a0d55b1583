"""
The Redis Streams queue: a redis-server started here, two worker
daemons (each with its own spool, as on two machines, sharing the output
directory) in one consumer group; jobs spooled on one machine are run by
both, each exactly once; a job process killed with SIGKILL has its entry
taken over by XAUTOCLAIM after the lease; failures go to the dead-letter
stream.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from harness import TEST_CONF, check_video_rendition, master, wait_for


pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def redis(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cli(*args):
        return subprocess.run(["redis-cli", "-p", str(port), *args],
                              capture_output=True, text=True,
                              check=True).stdout.strip()

    wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "PING"],
                                    capture_output=True, text=True)
             .stdout.strip() == "PONG", "redis-server")
    cli.port = port
    yield cli
    proc.terminate()
    proc.wait()


def redis_conf(port, extra=""):
    return TEST_CONF.format(workers=1, max_attempts=3) + (
        "queue redis;\nredis_address 127.0.0.1:%d;\n"
        "lease_time 3s;\nheartbeat 500ms;\n" % port) + extra


def two_daemons(worker, tmp_path, redis):
    out = tmp_path / "shared-out"
    a = worker("a", conf=redis_conf(redis.port), output=out).start()
    b = worker("b", conf=redis_conf(redis.port), output=out).start()
    for w in (a, b):
        wait_for(lambda: "redis feeder ready" in w.log(), "the feeder")
    return a, b, out


def outcome(ws, job_id):
    where = []
    for w in ws:
        for state in ("done", "failed"):
            if (w.spool / state / (job_id + ".json")).exists():
                where.append((w, state))
    return where


def test_two_daemons_share_the_stream(worker, tmp_path, clips, redis):
    a, b, out = two_daemons(worker, tmp_path, redis)

    ids = ["r%d" % i for i in range(4)]
    for i in ids:
        a.submit(i, clips.get("small"))          # all spooled on "a"

    for i in ids:
        wait_for(lambda: outcome((a, b), i), "job " + i)

    ran = {"a": 0, "b": 0}
    for i in ids:
        where = outcome((a, b), i)
        assert len(where) == 1 and where[0][1] == "done", where
        ran["a" if where[0][0] is a else "b"] += 1
        check_video_rendition(out / i / "360p", 640, 360, 1.0)

    # both machines worked on jobs that arrived on one of them
    assert ran["a"] >= 1 and ran["b"] >= 1, ran

    log = a.log() + b.log()
    for i in ids:
        assert log.count('job "%s": claimed' % i) == 1

    # the spool of "a" was emptied into the stream; all acknowledged
    assert not list((a.spool / "incoming").glob("*.json"))
    assert int(redis("XLEN", "ingest:jobs")) == 4
    pending = redis("XPENDING", "ingest:jobs", "ingest-workers")
    assert pending.splitlines()[0] == "0"
    a.stop()
    b.stop()


def test_kill9_consumer_entry_reclaimed(worker, tmp_path, clips, redis):
    a, b, out = two_daemons(worker, tmp_path, redis)

    a.submit("rk", clips.get("long"))

    def running():
        for w in (a, b):
            for p in (w.spool / "claimed").glob("*/rk.progress"):
                return w, int(p.parent.name.rsplit("-", 1)[1])
        return None

    w, pid = wait_for(running, "the job running")
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: outcome((a, b), "rk"), "the job after the kill")
    where = outcome((a, b), "rk")
    assert len(where) == 1 and where[0][1] == "done", where

    job = json.loads((where[0][0].spool / "done" / "rk.json").read_text())
    assert job["attempts"] == 1
    assert "stopped renewing" in job["last_error"]

    m, _ = master(out / "rk")
    assert len(m.playlists) == 2
    assert not list((out / ".tmp").rglob("rk"))

    log = a.log() + b.log()
    assert log.count('job "rk": done') == 1
    assert int(redis("XLEN", "ingest:jobs:dead")) == 0
    a.stop()
    b.stop()


def test_dead_letter(worker, tmp_path, clips, redis):
    a, b, out = two_daemons(worker, tmp_path, redis)

    b.submit("rbad", clips.get("text"))
    wait_for(lambda: outcome((a, b), "rbad"), "the bad job")
    (w, state), = outcome((a, b), "rbad")
    assert state == "failed"
    assert "not an audio or video file" in w.error("rbad")

    wait_for(lambda: redis("XLEN", "ingest:jobs:dead") == "1", "dead")
    entry = redis("XRANGE", "ingest:jobs:dead", "-", "+").splitlines()
    assert "job" in entry and "error" in entry
    assert "not an audio or video file" in entry[entry.index("error") + 1]

    # an invalid job is rejected by the feeder, before the stream
    a.submit("rjunk", None, raw="{not json")
    wait_for(lambda: (a.spool / "failed" / "rjunk.error").exists(),
             "the rejection")
    assert int(redis("XLEN", "ingest:jobs")) == 1
    a.stop()
    b.stop()


def test_redis_down_at_start(worker, tmp_path, clips):
    # no server: job processes fail to connect and are respawned with a
    # backoff; the master keeps running and stops cleanly
    w = worker(conf=redis_conf(free_port()))
    w.start()
    wait_for(lambda: "respawning in" in w.log(), "a respawn backoff")
    assert "redis: cannot connect" in w.log()
    assert w.stop() == 0


def consumers(redis):
    """{name: (pending, idle ms)} of the group, from XINFO CONSUMERS."""
    out = redis("XINFO", "CONSUMERS", "ingest:jobs", "ingest-workers")
    words = out.split()
    found = {}
    for i, w in enumerate(words):
        if w == "name":
            f = dict(zip(words[i::2], words[i + 1::2]))
            found[f["name"]] = (int(f["pending"]), int(f["idle"]))
    return found


def test_consumers_of_dead_workers_leave_the_group(worker, tmp_path,
                                                   clips, redis):
    # redis_consumer_idle below lease_time: only the pending entry keeps
    # the dead consumer in the group until XAUTOCLAIM takes it
    conf = redis_conf(redis.port, "redis_consumer_idle 1s;\n")
    w = worker("a", conf=conf).start()
    wait_for(lambda: "redis feeder ready" in w.log(), "the feeder")

    w.submit("rc1", clips.get("long"))
    claim = wait_for(lambda: w.claim_of("rc1"), "the job running")
    pid = claim[1]
    dead = claim[0].name
    wait_for(lambda: dead in consumers(redis), "its consumer")
    os.kill(pid, signal.SIGKILL)

    # the dead consumer holds the entry: it stays, however idle, until
    # another consumer takes the entry over after the lease
    seen = []
    while 'job "rc1": its consumer stopped renewing' not in w.log():
        c = consumers(redis)
        if c.get(dead, (0, 0))[0] == 1:
            seen.append(c[dead][1])
        else:
            # the entry left the dead consumer: its new owner logs the
            # takeover just after XAUTOCLAIM, so the line may lag a little
            wait_for(lambda: 'stopped renewing' in w.log(),
                     "the takeover logged (consumers: %r)" % (c,), 10)
            break
        time.sleep(0.1)
    assert seen and max(seen) > 1000, seen

    # then, with no entry and idle, the feeder removes it
    wait_for(lambda: "redis: removed consumer %s from group "
             "ingest-workers" % dead in w.log(), "the dead consumer gone")
    assert dead not in consumers(redis)
    assert w.wait_final("rc1") == "done"

    # a removed consumer that is alive comes back with its next entry
    # (Redis 7.0 counts idle time from the last entry a consumer got)
    time.sleep(2.5)
    w.submit("rc2", clips.get("small"))
    assert w.wait_final("rc2") == "done"
    assert w.stop() == 0
    assert consumers(redis) == {}


def test_consumers_leave_the_group_on_stop(worker, tmp_path, clips, redis):
    # no sweeping: a consumer stays until its process leaves
    conf = redis_conf(redis.port, "redis_consumer_idle off;\n")
    w = worker("a", conf=conf, workers=2).start()
    wait_for(lambda: "redis feeder ready" in w.log(), "the feeder")

    w.submit("rs1", clips.get("small"))
    assert w.wait_final("rs1") == "done"
    first = re.search(r"(\d+): job \"rs1\": claimed", w.log()).group(1)
    name = [n for n in consumers(redis) if n.endswith("-" + first)]
    assert len(name) == 1 and consumers(redis)[name[0]][0] == 0

    # a process killed while idle cannot leave: with sweeping off its
    # consumer stays in the group
    os.kill(int(first), signal.SIGKILL)
    wait_for(lambda: "job process %s exited on signal 9" % first
             in w.log(), "the kill")
    time.sleep(2)
    assert name[0] in consumers(redis)
    assert "removed consumer" not in w.log()

    # the others leave by themselves when the daemon stops
    w.submit("rs2", clips.get("small"))
    assert w.wait_final("rs2") == "done"
    second = re.search(r"(\d+): job \"rs2\": claimed", w.log()).group(1)
    assert second != first
    assert w.stop() == 0
    assert "consumer %s-%s left the group" % (name[0].rsplit("-", 1)[0],
                                              second) in w.log()
    assert list(consumers(redis)) == name
