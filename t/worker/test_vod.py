"""
VOD jobs end to end: a job JSON in the spool (the format nginx writes),
the daemon in the foreground, the HLS output checked with ffprobe and
python3-m3u8.
"""

import json

from harness import (CODECS_RE, check_audio_rendition,
                     check_video_rendition, ffprobe_json, master,
                     rendition_streams, segment_packets, total, wait_for)


SEG = 1.0


def run_one(worker, clip, job_id, profile="default", workers=1):
    w = worker(workers=workers).start()
    w.submit(job_id, clip, profile)
    assert w.wait_final(job_id) == "done", w.log()
    w.stop()
    assert w.leftovers() == []
    return w


def test_h264_ladder(worker, clips):
    w = run_one(worker, clips.get("h264"), "h264")
    out = w.output / "h264"

    m, text = master(out)

    # 720p source: 360p and 720p, never 1080p
    assert [p.stream_info.resolution for p in m.playlists] == \
        [(640, 360), (1280, 720)]
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text

    for p in m.playlists:
        si = p.stream_info
        assert CODECS_RE.match(si.codecs), si.codecs
        assert abs(si.frame_rate - 30.0) < 0.001
        assert si.average_bandwidth <= si.bandwidth
        assert si.audio == "aud"
    assert [x.uri for x in m.media] == ["audio/index.m3u8"]
    assert m.media[0].type == "AUDIO" and m.media[0].group_id == "aud"

    # the profile's rate caps hold on average (video + 128k audio)
    assert m.playlists[0].stream_info.average_bandwidth <= 800000 + 140000
    assert m.playlists[1].stream_info.average_bandwidth <= 3000000 + 140000

    pl360, k360 = check_video_rendition(out / "360p", 640, 360, SEG)
    pl720, k720 = check_video_rendition(out / "720p", 1280, 720, SEG)

    # keyframes aligned: same segment times on every rung, and a
    # keyframe only where a segment starts
    assert [s.duration for s in pl360.segments] == \
        [s.duration for s in pl720.segments]
    assert k360 == len(pl360.segments) and k720 == len(pl720.segments)
    assert abs(total(pl720) - 4.0) < 0.05

    pla = check_audio_rendition(out / "audio")
    assert abs(total(pla) - 4.0) < 0.1
    check_no_sliver(out / "audio", pla, pl720)

    job = w.done_job("h264")
    assert job["result"]["mode"] == "transcode"
    assert job["result"]["video_renditions"] == 2
    assert job["result"]["audio"] is True

    log = w.log()
    assert "realtime" in log and "%" in log


def check_no_sliver(adir, pla, plv):
    """
    The AAC runs a few ms past the 4 s of video: that tail joined the
    last audio segment (two fragments) instead of being a segment of
    its own, so audio and video have the same segments, and no sample
    was lost.
    """
    assert len(pla.segments) == len(plv.segments), \
        [s.duration for s in pla.segments]
    assert pla.segments[-1].duration > 0.9 * SEG
    last = segment_packets(adir, pla.segments[-1].uri, "a:0")
    end = max(float(p["pts_time"]) + float(p.get("duration_time", 0))
              for p in last)
    assert end > 4.0 + 0.001, end
    info = rendition_streams(adir)
    assert float(info["format"]["duration"]) > 4.0 + 0.001


def test_real_last_segment_stays(worker, clips):
    # 4.5 s: the last half second is a segment in every track
    w = run_one(worker, clips.get("tail"), "tail")
    out = w.output / "tail"
    plv, _ = check_video_rendition(out / "360p", 640, 360, SEG)
    pla = check_audio_rendition(out / "audio")
    assert len(plv.segments) == len(pla.segments) == 5
    assert abs(plv.segments[-1].duration - 0.5) < 0.01
    assert abs(pla.segments[-1].duration - 0.5) < 0.05
    assert "join the segment before" not in w.log()


def test_rotated_mov(worker, clips):
    w = run_one(worker, clips.get("rotated"), "rot")
    out = w.output / "rot"

    m, _ = master(out)

    # 640x360 shown turned by 90 degrees: a portrait 360p rendition
    assert [p.stream_info.resolution for p in m.playlists] == [(360, 640)]
    check_video_rendition(out / "360p", 360, 640, SEG)

    # the pixels are turned: no display matrix left to apply
    info = ffprobe_json(out / "360p" / "init.mp4", "-show_streams")
    assert "side_data_list" not in info["streams"][0]

    assert w.done_job("rot")["result"]["mode"] == "transcode"


def test_vp9_webm(worker, clips):
    w = run_one(worker, clips.get("vp9"), "vp9")
    out = w.output / "vp9"

    m, _ = master(out)
    assert [p.stream_info.resolution for p in m.playlists] == [(640, 360)]
    assert CODECS_RE.match(m.playlists[0].stream_info.codecs)

    pl, keyframes = check_video_rendition(out / "360p", 640, 360, SEG)
    assert keyframes == len(pl.segments)
    assert abs(total(pl) - 4.0) < 0.05

    # Opus became AAC
    check_audio_rendition(out / "audio")


def test_audio_only(worker, clips):
    w = run_one(worker, clips.get("audio"), "aud")
    out = w.output / "aud"

    m, text = master(out)
    assert len(m.playlists) == 1
    si = m.playlists[0].stream_info
    assert si.codecs == "mp4a.40.2"
    assert si.resolution is None and "RESOLUTION" not in text
    assert m.playlists[0].uri == "audio/index.m3u8"
    assert not m.media

    pl = check_audio_rendition(out / "audio")
    assert abs(total(pl) - 4.0) < 0.1
    assert sorted(p.name for p in out.iterdir()) == ["audio", "master.m3u8"]

    # alone, the audio's sliver past 4 s joins its last segment too
    assert len(pl.segments) == 4
    assert pl.segments[-1].duration > 0.9 * SEG

    job = w.done_job("aud")
    assert job["result"]["video_renditions"] == 0


def test_passthrough(worker, clips):
    src = clips.get("passthrough")
    w = run_one(worker, src, "pass")
    out = w.output / "pass"

    assert w.done_job("pass")["result"]["mode"] == "passthrough"
    assert "pass-through" in w.log()

    m, _ = master(out)
    assert [p.stream_info.resolution for p in m.playlists] == [(640, 360)]
    pl, _ = check_video_rendition(out / "360p", 640, 360, SEG)

    # remuxed, not re-encoded: the same video packets, byte for byte
    src_pkts = ffprobe_json(src, "-show_packets", "-select_streams",
                            "v:0")["packets"]
    out_sizes = []
    from harness import segment_packets
    for s in pl.segments:
        out_sizes += [int(p["size"]) for p in
                      segment_packets(out / "360p", s.uri)]
    assert out_sizes == [int(p["size"]) for p in src_pkts]

    # the source's AAC is copied too (48 kHz stereo from the clip)
    check_audio_rendition(out / "audio", 48000, 1)


def test_passthrough_off_transcodes(worker, clips):
    w = run_one(worker, clips.get("passthrough"), "nopass", profile="slow")
    assert w.done_job("nopass")["result"]["mode"] == "transcode"
    check_video_rendition(w.output / "nopass" / "360p", 640, 360, SEG)


def test_two_workers_share_the_queue(worker, clips):
    w = worker(workers=2).start()
    wait_for(lambda: len(w.children()) == 2, "two job processes")

    ids = ["q%d" % i for i in range(4)]
    for i in ids:
        w.submit(i, clips.get("small"))
    for i in ids:
        assert w.wait_final(i) == "done", w.log()

    # each job ran exactly once, in one of the two processes
    log = w.log()
    for i in ids:
        assert log.count('job "%s": claimed' % i) == 1
        assert log.count('job "%s": done' % i) == 1
        job = json.loads((w.spool / "done" / (i + ".json")).read_text())
        assert job["id"] == i and "attempts" not in job
    w.stop()
    assert w.leftovers() == []
