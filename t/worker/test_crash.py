"""
Crash safety and the process model: a job process killed with SIGKILL
in the middle of a job (the job still completes, exactly once, and no
half-written output is ever visible), claims of dead workers reclaimed
on start and by lease, graceful (SIGQUIT) and fast (SIGTERM) stops,
respawn of dead job processes.
"""

import json
import os
import signal
import subprocess
import time

from harness import (check_video_rendition, host_name, master, wait_for)


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def running(w, job_id):
    """Waits until the job reports progress; returns its claim."""
    wait_for(lambda: list((w.spool / "claimed").glob(
        "*/" + job_id + ".progress")), "progress of " + job_id)
    return w.claim_of(job_id)


def test_kill9_mid_job_completes_once(worker, clips):
    w = worker(workers=1).start()
    w.submit("k9", clips.get("long"))

    claim = running(w, "k9")
    assert claim is not None
    cdir, pid = claim
    assert pid in w.children()

    out = w.output / "k9"
    tmp = w.output / ".tmp" / cdir.name / "k9"
    assert tmp.is_dir() and not out.exists()

    os.kill(pid, signal.SIGKILL)

    # never visible half-written: either absent or whole
    def final():
        if out.exists():
            assert (out / "master.m3u8").exists()
        return w.state("k9") == "done"

    wait_for(final, "k9 to be done after the crash", step=0.01)

    log = w.log()
    assert "job process %d exited on signal 9" % pid in log
    assert log.count('job "k9": claimed') == 2
    assert log.count('job "k9": done') == 1

    # the dead process's claim and its partial output are gone
    assert not cdir.exists()
    assert not tmp.exists()

    job = w.done_job("k9")
    assert job["attempts"] == 1
    assert "died" in job["last_error"]
    assert job["result"]["mode"] == "transcode"

    m, _ = master(out)
    assert [p.stream_info.resolution for p in m.playlists] == \
        [(640, 360), (1280, 720)]
    pl, _ = check_video_rendition(out / "720p", 1280, 720, 1.0)
    assert abs(sum(s.duration for s in pl.segments) - 12.0) < 0.05

    # a new job process took the dead one's place
    assert len(w.children()) == 1 and pid not in w.children()

    w.stop()
    assert w.leftovers() == []
    assert not (w.spool / "failed" / "k9.json").exists()


def test_sigterm_releases_the_job(worker, clips):
    w = worker().start()
    w.submit("rel", clips.get("long"), profile="slow")
    cdir, _ = running(w, "rel")

    assert w.stop(signal.SIGTERM) == 0

    # back in incoming/ as it was: no attempt counted, nothing published
    assert w.state("rel") == "incoming"
    job = json.loads((w.spool / "incoming" / "rel.json").read_text())
    assert "attempts" not in job
    assert not (w.output / "rel").exists()
    assert w.leftovers() == []
    assert 'job "rel": stopped, released' in w.log()

    # the next start finishes it
    w.start()
    assert w.wait_final("rel") == "done"
    w.stop()


def test_sigquit_finishes_the_job(worker, clips):
    w = worker().start()
    w.submit("fin", clips.get("small"), profile="slow")
    running(w, "fin")

    assert w.stop(signal.SIGQUIT) == 0
    assert w.state("fin") == "done"
    assert (w.output / "fin" / "master.m3u8").exists()
    assert "graceful stop" in w.log()


def test_reclaim_dead_claim_on_start(worker, clips):
    w = worker()

    # a claim left by a process of this host that no longer exists
    name = "%s-%d" % (host_name(), dead_pid())
    cdir = w.spool / "claimed" / name
    cdir.mkdir(parents=True)
    job = w.job("orphan", clips.get("small"))
    (cdir / "orphan.json").write_text(json.dumps(job))
    junk = w.output / ".tmp" / name / "orphan" / "360p"
    junk.mkdir(parents=True)
    (junk / "seg00000.m4s").write_bytes(b"partial")

    w.start()
    assert w.wait_final("orphan") == "done", w.log()
    w.stop()

    assert not cdir.exists()
    assert not (w.output / ".tmp" / name).exists()
    assert w.done_job("orphan")["attempts"] == 1
    assert "worker %s is gone" % name in w.log()


def test_reclaim_by_lease_on_other_hosts(worker, clips):
    w = worker()

    # another machine sharing the spool: its pids mean nothing here;
    # only its lease (the claim's mtime, 5 s here) tells
    stale = w.spool / "claimed" / "otherhost-101"
    fresh = w.spool / "claimed" / "otherhost-102"
    for d, job_id in ((stale, "stale"), (fresh, "fresh")):
        d.mkdir(parents=True)
        (d / (job_id + ".json")).write_text(
            json.dumps(w.job(job_id, clips.get("small"))))
    old = time.time() - 600
    os.utime(stale / "stale.json", (old, old))

    w.start()
    assert w.wait_final("stale") == "done"

    # two more reclaim scans, and the fresh claim is still its owner's
    # (which renews it, as its heartbeat would: a slow machine must not
    # let the 5 s lease run out while we wait)
    def scans():
        os.utime(fresh / "fresh.json")
        return w.log().count("queue depth") >= n + 2

    n = w.log().count("queue depth")
    wait_for(scans, "two scans")
    assert w.state("fresh") == "claimed"
    assert "lost its lease" in w.log()
    w.stop()


def test_output_published_before_a_crash_is_kept(worker, clips):
    # the previous run renamed its output into place and died before
    # moving the job to done/: the re-run must not produce it again
    w = worker()
    out = w.output / "pub"
    out.mkdir(parents=True)
    (out / "master.m3u8").write_text("#EXTM3U\n")
    before = (out / "master.m3u8").stat().st_mtime_ns

    w.start()
    w.submit("pub", clips.get("small"))
    assert w.wait_final("pub") == "done"
    w.stop()

    assert (out / "master.m3u8").stat().st_mtime_ns == before
    assert sorted(p.name for p in out.iterdir()) == ["master.m3u8"]
    assert "is already complete" in w.log()


def test_respawn_with_backoff(worker):
    w = worker(workers=2).start()
    wait_for(lambda: len(w.children()) == 2, "two job processes")
    first = w.children()

    os.kill(first[0], signal.SIGKILL)
    wait_for(lambda: len(w.children()) == 2 and
             first[0] not in w.children(), "a respawned job process")

    # it died young: the next start is delayed by the backoff
    assert "respawning in" in w.log()
    assert first[1] in w.children()
    w.stop()


def test_master_killed_releases_jobs(worker, clips):
    # SIGKILL to the master: its job processes get SIGTERM from the
    # kernel (PR_SET_PDEATHSIG) and put their jobs back
    w = worker().start()
    w.submit("orph", clips.get("long"), profile="slow")
    _, pid = running(w, "orph")

    w.proc.kill()
    w.proc.wait()
    w.proc = None
    w.logfile.close()

    wait_for(lambda: not os.path.exists("/proc/%d" % pid), "the job process")
    assert w.state("orph") == "incoming"
    assert not (w.output / "orph").exists()
    assert w.leftovers() == []
