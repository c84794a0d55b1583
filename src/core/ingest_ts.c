
/*
 * Copyright (C) nginx video ingest developers
 */


#include "ingest_ts.h"

#include <stdlib.h>
#include <string.h>


#define INGEST_TS_SYNC          0x47
#define INGEST_TS_PID_PAT       0x0000
#define INGEST_TS_PID_NULL      0x1fff

/* first size of a PES buffer; it doubles up to max_pes */
#define INGEST_TS_PES_START     (64 * 1024)


static int ingest_ts_packet(ingest_ts_t *ts, const unsigned char *p);
static void ingest_ts_psi(ingest_ts_t *ts, ingest_ts_psi_t *psi,
    const unsigned char *p, size_t len, int pusi);
static void ingest_ts_psi_append(ingest_ts_t *ts, ingest_ts_psi_t *psi,
    const unsigned char **p, size_t *len);
static void ingest_ts_section(ingest_ts_t *ts, ingest_ts_psi_t *psi);
static void ingest_ts_pat(ingest_ts_t *ts, const unsigned char *p,
    size_t len);
static void ingest_ts_pmt(ingest_ts_t *ts, const unsigned char *p,
    size_t len);
static int ingest_ts_es(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len, int pusi);
static int ingest_ts_append(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len);
static void ingest_ts_drop(ingest_ts_t *ts, ingest_ts_stream_t *s);
static int ingest_ts_pes(ingest_ts_t *ts, ingest_ts_stream_t *s);
static int ingest_ts_video(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len, int64_t pts, int64_t dts);
static int ingest_ts_audio(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len, int64_t pts);
static int ingest_ts_adts_frame(ingest_ts_t *ts, ingest_ts_stream_t *s,
    ingest_ts_frame_t *f, const unsigned char *p, size_t len);
static int ingest_ts_emit(ingest_ts_t *ts, ingest_ts_frame_t *f);
static int64_t ingest_ts_time(const unsigned char *p);
static void ingest_ts_release(ingest_ts_t *ts, ingest_ts_stream_t *s);
static void *ingest_ts_malloc(void *data, size_t size);
static void ingest_ts_mfree(void *data, void *p);


static const unsigned  ingest_ts_aac_rates[16] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
    16000, 12000, 11025, 8000, 7350, 0, 0, 0
};


void
ingest_ts_init(ingest_ts_t *ts, const ingest_ts_conf_t *conf)
{
    memset(ts, 0, offsetof(ingest_ts_t, streams));

    ts->conf = *conf;

    if (ts->conf.max_pes == 0) {
        ts->conf.max_pes = INGEST_TS_MAX_PES;
    }

    if (ts->conf.alloc == NULL || ts->conf.free == NULL) {
        ts->conf.alloc = ingest_ts_malloc;
        ts->conf.free = ingest_ts_mfree;
    }

    ts->pat.pid = INGEST_TS_PID_PAT;
    ts->pat.cc = -1;
    ts->pat.version = -1;
    ts->pmt.cc = -1;
    ts->pmt.version = -1;
    ts->nstreams = 0;
}


void
ingest_ts_free(ingest_ts_t *ts)
{
    size_t  i;

    for (i = 0; i < ts->nstreams; i++) {
        ingest_ts_release(ts, &ts->streams[i]);
    }

    ts->nstreams = 0;
}


int
ingest_ts_feed(ingest_ts_t *ts, const unsigned char *p, size_t len)
{
    size_t  i, n, off;

    if (ts->aborted) {
        return -1;
    }

    ts->stats.bytes += len;

    while (len > 0) {

        if (ts->synced) {

            if (ts->plen == 0) {
                /* whole packets straight from the input */

                while (len >= INGEST_TS_PACKET_SIZE && p[0] == INGEST_TS_SYNC)
                {
                    if (ingest_ts_packet(ts, p) != 0) {
                        return -1;
                    }

                    p += INGEST_TS_PACKET_SIZE;
                    len -= INGEST_TS_PACKET_SIZE;
                }

                if (len == 0) {
                    break;
                }

                if (p[0] != INGEST_TS_SYNC) {
                    ts->synced = 0;
                    ts->stats.sync_losses++;
                    ts->slen = 0;
                    continue;
                }
            }

            n = INGEST_TS_PACKET_SIZE - ts->plen;
            if (n > len) {
                n = len;
            }

            memcpy(ts->pkt + ts->plen, p, n);
            ts->plen += n;
            p += n;
            len -= n;

            if (ts->plen < INGEST_TS_PACKET_SIZE) {
                break;
            }

            ts->plen = 0;

            if (ts->pkt[0] != INGEST_TS_SYNC) {
                ts->synced = 0;
                ts->stats.sync_losses++;
                memcpy(ts->scan, ts->pkt, INGEST_TS_PACKET_SIZE);
                ts->slen = INGEST_TS_PACKET_SIZE;
                continue;
            }

            if (ingest_ts_packet(ts, ts->pkt) != 0) {
                return -1;
            }

            continue;
        }

        /* looking for three sync bytes 188 bytes apart */

        n = sizeof(ts->scan) - ts->slen;
        if (n > len) {
            n = len;
        }

        memcpy(ts->scan + ts->slen, p, n);
        ts->slen += n;
        p += n;
        len -= n;

        if (ts->slen < sizeof(ts->scan)) {
            break;
        }

        for (i = 0; i < INGEST_TS_PACKET_SIZE; i++) {
            if (ts->scan[i] == INGEST_TS_SYNC
                && ts->scan[i + INGEST_TS_PACKET_SIZE] == INGEST_TS_SYNC
                && ts->scan[i + 2 * INGEST_TS_PACKET_SIZE] == INGEST_TS_SYNC)
            {
                break;
            }
        }

        if (i == INGEST_TS_PACKET_SIZE) {
            ts->stats.dropped_bytes += INGEST_TS_PACKET_SIZE;
            ts->slen -= INGEST_TS_PACKET_SIZE;
            memmove(ts->scan, ts->scan + INGEST_TS_PACKET_SIZE, ts->slen);
            continue;
        }

        ts->stats.dropped_bytes += i;

        if (ts->ever_synced) {
            ts->stats.resyncs++;
        }

        ts->synced = 1;
        ts->ever_synced = 1;

        off = i;

        while (ts->slen - off >= INGEST_TS_PACKET_SIZE) {
            if (ingest_ts_packet(ts, ts->scan + off) != 0) {
                return -1;
            }

            off += INGEST_TS_PACKET_SIZE;
        }

        ts->plen = ts->slen - off;
        memcpy(ts->pkt, ts->scan + off, ts->plen);
        ts->slen = 0;

        /* a packet straddling the scan window may be out of sync after
         * all: the synced path checks its first byte */
    }

    return 0;
}


int
ingest_ts_flush(ingest_ts_t *ts)
{
    size_t               i, off;
    ingest_ts_stream_t  *s;

    if (ts->aborted) {
        return -1;
    }

    /* a short input never gave three sync bytes: take what looks right */

    if (!ts->synced && ts->slen >= INGEST_TS_PACKET_SIZE) {
        for (off = 0; off + INGEST_TS_PACKET_SIZE <= ts->slen; off++) {
            if (ts->scan[off] == INGEST_TS_SYNC
                && (off + INGEST_TS_PACKET_SIZE == ts->slen
                    || ts->scan[off + INGEST_TS_PACKET_SIZE]
                       == INGEST_TS_SYNC))
            {
                break;
            }
        }

        ts->stats.dropped_bytes += off;

        while (off + INGEST_TS_PACKET_SIZE <= ts->slen
               && ts->scan[off] == INGEST_TS_SYNC)
        {
            if (ingest_ts_packet(ts, ts->scan + off) != 0) {
                return -1;
            }

            off += INGEST_TS_PACKET_SIZE;
        }

        if (off < ts->slen) {
            ts->stats.dropped_bytes += ts->slen - off;
        }

        ts->slen = 0;

    } else {
        ts->stats.dropped_bytes += ts->slen + ts->plen;
        ts->slen = 0;
        ts->plen = 0;
    }

    for (i = 0; i < ts->nstreams; i++) {
        s = &ts->streams[i];

        if (s->started && !s->dropping && s->len > 0) {
            if (ingest_ts_pes(ts, s) != 0) {
                return -1;
            }
        }

        s->started = 0;
        s->dropping = 0;
        s->len = 0;

        if (s->carry_len > 0) {
            ts->stats.dropped_bytes += s->carry_len;
            s->carry_len = 0;
        }
    }

    return 0;
}


size_t
ingest_ts_streams(const ingest_ts_t *ts, ingest_ts_stream_info_t *out,
    size_t n)
{
    size_t  i;

    for (i = 0; i < ts->nstreams && i < n; i++) {
        out[i].pid = ts->streams[i].pid;
        out[i].stream_type = ts->streams[i].stream_type;
        out[i].codec = ts->streams[i].codec;
    }

    return i;
}


const char *
ingest_ts_codec_name(ingest_ts_codec_t codec)
{
    switch (codec) {

    case INGEST_TS_CODEC_H264:
        return "h264";

    case INGEST_TS_CODEC_H265:
        return "h265";

    case INGEST_TS_CODEC_AAC:
        return "aac";

    default:
        return "none";
    }
}


static int
ingest_ts_packet(ingest_ts_t *ts, const unsigned char *p)
{
    int                  pusi, cc, disc, *last;
    size_t               i, off, len;
    unsigned             pid, afc;
    ingest_ts_psi_t     *psi;
    ingest_ts_stream_t  *s;

    ts->stats.packets++;

    pid = (p[1] & 0x1f) << 8 | p[2];
    pusi = (p[1] & 0x40) != 0;
    afc = (p[3] >> 4) & 3;
    cc = p[3] & 0x0f;

    if (pid == INGEST_TS_PID_NULL) {
        return 0;
    }

    /* the stream or table this packet belongs to */

    psi = NULL;
    s = NULL;

    if (pid == INGEST_TS_PID_PAT) {
        psi = &ts->pat;

    } else if (ts->pmt.pid != 0 && pid == ts->pmt.pid) {
        psi = &ts->pmt;

    } else {
        for (i = 0; i < ts->nstreams; i++) {
            if (ts->streams[i].pid == pid) {
                s = &ts->streams[i];
                break;
            }
        }

        if (s == NULL) {
            return 0;
        }
    }

    if (p[1] & 0x80) {
        /* transport_error_indicator: the packet is damaged */
        ts->stats.tei++;
        ts->stats.dropped_bytes += INGEST_TS_PACKET_SIZE;

        if (psi != NULL) {
            psi->started = 0;

        } else {
            ingest_ts_drop(ts, s);
        }

        return 0;
    }

    if (p[3] & 0xc0) {
        /* we have no keys: as good as lost */
        ts->stats.scrambled++;
        ts->stats.dropped_bytes += INGEST_TS_PACKET_SIZE;

        if (psi != NULL) {
            psi->started = 0;

        } else {
            ingest_ts_drop(ts, s);
        }

        return 0;
    }

    off = 4;
    disc = 0;

    if (afc == 0) {
        ts->stats.dropped_bytes += INGEST_TS_PACKET_SIZE;
        return 0;
    }

    if (afc & 2) {
        /* adaptation_field_length, then discontinuity_indicator */

        if (p[4] > (afc == 2 ? 183 : 182)) {
            ts->stats.dropped_bytes += INGEST_TS_PACKET_SIZE;
            return 0;
        }

        if (p[4] > 0 && (p[5] & 0x80)) {
            disc = 1;
            ts->stats.discontinuities++;
        }

        off = 5 + p[4];
    }

    if (!(afc & 1)) {
        /* no payload: the continuity counter does not advance */
        return 0;
    }

    /* continuity */

    last = psi != NULL ? &psi->cc : &s->cc;

    if (*last >= 0 && !disc) {

        if (cc == *last) {
            ts->stats.duplicates++;
            return 0;
        }

        if (cc != ((*last + 1) & 0x0f)) {
            ts->stats.cc_errors++;

            if (psi != NULL) {
                psi->started = 0;

            } else {
                ingest_ts_drop(ts, s);
            }
        }
    }

    *last = cc;

    len = INGEST_TS_PACKET_SIZE - off;
    p += off;

    if (psi != NULL) {
        ingest_ts_psi(ts, psi, p, len, pusi);
        return 0;
    }

    return ingest_ts_es(ts, s, p, len, pusi);
}


/* PSI: sections over packets, pointer_field at each unit start */

static void
ingest_ts_psi(ingest_ts_t *ts, ingest_ts_psi_t *psi, const unsigned char *p,
    size_t len, int pusi)
{
    size_t  ptr, n;

    if (!pusi) {
        if (psi->started) {
            ingest_ts_psi_append(ts, psi, &p, &len);
        }

        return;
    }

    if (len == 0) {
        return;
    }

    ptr = p[0];
    p++;
    len--;

    if (ptr > len) {
        ts->stats.psi_errors++;
        psi->started = 0;
        return;
    }

    /* the end of the previous section */

    if (psi->started) {
        n = ptr;
        ingest_ts_psi_append(ts, psi, &p, &n);
    }

    psi->started = 0;
    p += ptr;
    len -= ptr;

    /* sections starting here, until stuffing */

    while (len > 0 && p[0] != 0xff) {
        psi->started = 1;
        psi->len = 0;

        ingest_ts_psi_append(ts, psi, &p, &len);

        if (psi->started) {
            /* goes on in the next packet */
            break;
        }
    }
}


/* appends to a section; ends it (started = 0) when complete or bad */

static void
ingest_ts_psi_append(ingest_ts_t *ts, ingest_ts_psi_t *psi,
    const unsigned char **p, size_t *len)
{
    size_t  n, need;

    while (*len > 0) {
        if (psi->len < 3) {
            need = 3;

        } else {
            need = 3 + ((psi->buf[1] & 0x0f) << 8 | psi->buf[2]);

            if (need > INGEST_TS_SECTION_MAX) {
                ts->stats.psi_errors++;
                psi->started = 0;
                return;
            }
        }

        n = need - psi->len;
        if (n > *len) {
            n = *len;
        }

        memcpy(psi->buf + psi->len, *p, n);
        psi->len += n;
        *p += n;
        *len -= n;

        if (psi->len == need && need > 3) {
            ingest_ts_section(ts, psi);
            psi->started = 0;
            return;
        }

        if (psi->len == 3
            && 3 + ((psi->buf[1] & 0x0f) << 8 | psi->buf[2]) == 3)
        {
            /* an empty section is not one */
            ts->stats.psi_errors++;
            psi->started = 0;
            return;
        }
    }
}


static void
ingest_ts_section(ingest_ts_t *ts, ingest_ts_psi_t *psi)
{
    int             version;
    size_t          len;
    unsigned char  *p;

    p = psi->buf;
    len = psi->len;

    /* section_syntax_indicator, a header of 8 bytes and the CRC */

    if (len < 12 || !(p[1] & 0x80)) {
        ts->stats.psi_errors++;
        return;
    }

    if (ingest_ts_crc32(p, len) != 0) {
        ts->stats.psi_crc_errors++;
        return;
    }

    /* current_next_indicator 0: a table for later */
    if (!(p[5] & 0x01)) {
        return;
    }

    version = (p[5] >> 1) & 0x1f;

    if (psi == &ts->pat) {
        if (p[0] != 0x00) {
            return;
        }

        ingest_ts_pat(ts, p, len);
        psi->version = version;
        return;
    }

    if (p[0] != 0x02) {
        return;
    }

    if (((unsigned) p[3] << 8 | p[4]) != ts->program) {
        return;
    }

    if (version == psi->version) {
        return;
    }

    ingest_ts_pmt(ts, p, len);
    psi->version = version;
}


static void
ingest_ts_pat(ingest_ts_t *ts, const unsigned char *p, size_t len)
{
    size_t    i, end;
    unsigned  program, pid;

    end = len - 4;

    for (i = 8; i + 4 <= end; i += 4) {
        program = (unsigned) p[i] << 8 | p[i + 1];
        pid = (p[i + 2] & 0x1f) << 8 | p[i + 3];

        if (program == 0) {
            /* the network PID */
            continue;
        }

        if (pid == INGEST_TS_PID_PAT || pid == INGEST_TS_PID_NULL) {
            ts->stats.psi_errors++;
            return;
        }

        if (ts->program == program && ts->pmt.pid == pid) {
            return;
        }

        /* the first program only; a new PMT PID starts over */

        ts->program = program;
        ts->pmt.pid = pid;
        ts->pmt.cc = -1;
        ts->pmt.version = -1;
        ts->pmt.started = 0;
        ts->pmt.len = 0;

        return;
    }
}


static void
ingest_ts_pmt(ingest_ts_t *ts, const unsigned char *p, size_t len)
{
    size_t                i, j, k, n, end, info, nnew;
    unsigned              type, pid;
    ingest_ts_codec_t     codec;
    ingest_ts_stream_t   *s;
    unsigned              npid[INGEST_TS_MAX_STREAMS];
    unsigned              ntype[INGEST_TS_MAX_STREAMS];
    ingest_ts_codec_t     ncodec[INGEST_TS_MAX_STREAMS];

    end = len - 4;

    if (end < 12) {
        ts->stats.psi_errors++;
        return;
    }

    info = (p[10] & 0x0f) << 8 | p[11];

    if (12 + info > end) {
        ts->stats.psi_errors++;
        return;
    }

    /* the streams we read, and the whole loop valid, before any change */

    nnew = 0;

    for (i = 12 + info; i < end; i += 5 + n) {
        if (i + 5 > end) {
            ts->stats.psi_errors++;
            return;
        }

        type = p[i];
        pid = (p[i + 1] & 0x1f) << 8 | p[i + 2];
        n = (p[i + 3] & 0x0f) << 8 | p[i + 4];

        if (i + 5 + n > end) {
            ts->stats.psi_errors++;
            return;
        }

        switch (type) {

        case 0x1b:
            codec = INGEST_TS_CODEC_H264;
            break;

        case 0x24:
            codec = INGEST_TS_CODEC_H265;
            break;

        case 0x0f:
            codec = INGEST_TS_CODEC_AAC;
            break;

        default:
            continue;
        }

        if (nnew == INGEST_TS_MAX_STREAMS
            || pid == INGEST_TS_PID_PAT || pid == INGEST_TS_PID_NULL
            || pid == ts->pmt.pid)
        {
            continue;
        }

        for (j = 0; j < nnew; j++) {
            if (npid[j] == pid) {
                break;
            }
        }

        if (j < nnew) {
            /* a PID listed twice */
            continue;
        }

        npid[nnew] = pid;
        ntype[nnew] = type;
        ncodec[nnew] = codec;
        nnew++;
    }

    ts->stats.pmt_updates++;
    ts->pcr_pid = (p[8] & 0x1f) << 8 | p[9];

    /* streams that go away; the others keep their state and buffer */

    for (k = 0; k < ts->nstreams; /* void */) {
        s = &ts->streams[k];

        for (j = 0; j < nnew; j++) {
            if (npid[j] == s->pid && ntype[j] == s->stream_type) {
                break;
            }
        }

        if (j < nnew) {
            npid[j] = INGEST_TS_PID_NULL;
            k++;
            continue;
        }

        ingest_ts_release(ts, s);

        ts->nstreams--;

        if (k != ts->nstreams) {
            memcpy(s, &ts->streams[ts->nstreams],
                   sizeof(ingest_ts_stream_t));
        }
    }

    for (j = 0; j < nnew; j++) {
        if (npid[j] == INGEST_TS_PID_NULL) {
            continue;
        }

        s = &ts->streams[ts->nstreams++];

        memset(s, 0, offsetof(ingest_ts_stream_t, carry));
        s->pid = npid[j];
        s->stream_type = ntype[j];
        s->codec = ncodec[j];
        s->cc = -1;
        s->aac_base = INGEST_TS_NO_TIME;
    }
}


static int
ingest_ts_es(ingest_ts_t *ts, ingest_ts_stream_t *s, const unsigned char *p,
    size_t len, int pusi)
{
    if (pusi) {
        if (s->started && !s->dropping && s->len > 0) {
            /* a PES without PES_packet_length ends here */
            if (ingest_ts_pes(ts, s) != 0) {
                return -1;
            }
        }

        s->started = 1;
        s->dropping = 0;
        s->len = 0;
        s->need = 0;

    } else if (!s->started || s->dropping) {
        ts->stats.dropped_bytes += len;
        return 0;
    }

    if (ingest_ts_append(ts, s, p, len) != 0) {
        return 0;
    }

    if (s->need == 0 && s->len >= 6) {
        if (s->buf[0] != 0 || s->buf[1] != 0 || s->buf[2] != 1) {
            ts->stats.pes_errors++;
            ingest_ts_drop(ts, s);
            return 0;
        }

        s->need = (size_t) (s->buf[4] << 8 | s->buf[5]);

        if (s->need != 0) {
            s->need += 6;
        }
    }

    if (s->need != 0 && s->len >= s->need) {
        /* bytes past PES_packet_length are not the PES's */

        ts->stats.dropped_bytes += s->len - s->need;
        s->len = s->need;

        if (ingest_ts_pes(ts, s) != 0) {
            return -1;
        }

        s->started = 0;
        s->len = 0;
        s->need = 0;
    }

    return 0;
}


static int
ingest_ts_append(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len)
{
    size_t          size;
    unsigned char  *buf;

    if (s->len + len > ts->conf.max_pes) {
        ts->stats.pes_overflows++;
        ts->stats.dropped_bytes += len;
        ingest_ts_drop(ts, s);
        return -1;
    }

    if (s->len + len > s->size) {
        size = s->size != 0 ? s->size : INGEST_TS_PES_START;

        while (size < s->len + len) {
            size *= 2;
        }

        if (size > ts->conf.max_pes) {
            size = ts->conf.max_pes;
        }

        buf = ts->conf.alloc(ts->conf.alloc_data, size);
        if (buf == NULL) {
            ts->stats.alloc_failures++;
            ts->stats.dropped_bytes += len;
            ingest_ts_drop(ts, s);
            return -1;
        }

        if (s->buf != NULL) {
            memcpy(buf, s->buf, s->len);
            ts->conf.free(ts->conf.alloc_data, s->buf);
        }

        s->buf = buf;
        s->size = size;
    }

    memcpy(s->buf + s->len, p, len);
    s->len += len;

    return 0;
}


/* the PES being read is lost: drop it and flag the next frame */

static void
ingest_ts_drop(ingest_ts_t *ts, ingest_ts_stream_t *s)
{
    if (s->started && !s->dropping) {
        ts->stats.dropped_bytes += s->len;
        s->dropping = 1;
    }

    s->len = 0;
    s->need = 0;
    s->lost = 1;
}


static int
ingest_ts_pes(ingest_ts_t *ts, ingest_ts_stream_t *s)
{
    size_t          n, hlen, end;
    int64_t         pts, dts;
    unsigned        flags;
    unsigned char  *p;

    p = s->buf;
    n = s->len;

    if (n < 9 || p[0] != 0 || p[1] != 0 || p[2] != 1
        || (p[6] & 0xc0) != 0x80)
    {
        goto bad;
    }

    hlen = 9 + p[8];

    if (hlen > n) {
        goto bad;
    }

    end = n;

    if (s->need != 0 && s->need < end) {
        end = s->need;
    }

    flags = p[7] >> 6;
    pts = INGEST_TS_NO_TIME;
    dts = INGEST_TS_NO_TIME;

    if (flags & 2) {
        if (hlen < 14) {
            goto bad;
        }

        pts = ingest_ts_time(p + 9);
        dts = pts;

        if (flags == 3) {
            if (hlen < 19) {
                goto bad;
            }

            dts = ingest_ts_time(p + 14);
        }
    }

    if (s->codec == INGEST_TS_CODEC_AAC) {
        return ingest_ts_audio(ts, s, p + hlen, end - hlen, pts);
    }

    return ingest_ts_video(ts, s, p + hlen, end - hlen, pts, dts);

bad:

    ts->stats.pes_errors++;
    ts->stats.dropped_bytes += n;
    s->lost = 1;

    return 0;
}


static int
ingest_ts_video(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len, int64_t pts, int64_t dts)
{
    ingest_ts_frame_t  f;

    if (len == 0) {
        return 0;
    }

    memset(&f, 0, sizeof(ingest_ts_frame_t));

    f.codec = s->codec;
    f.pid = s->pid;
    f.pts = pts;
    f.dts = dts;
    f.key = ingest_annexb_key(s->codec, p, len);
    f.discontinuity = s->lost;
    f.data = p;
    f.len = len;

    s->lost = 0;

    ts->stats.video_frames++;

    return ingest_ts_emit(ts, &f);
}


/*
 * An AAC PES holds whole ADTS frames as a rule, but a frame may go on in
 * the next PES: its head waits in carry. Frame times count samples from
 * the PES's PTS, so rounding never adds up.
 */

static int
ingest_ts_audio(ingest_ts_t *ts, ingest_ts_stream_t *s,
    const unsigned char *p, size_t len, int64_t pts)
{
    size_t             n, flen, skip;
    ingest_ts_frame_t  f;

    if (s->lost) {
        ts->stats.dropped_bytes += s->carry_len;
        s->carry_len = 0;
    }

    /* the tail of a frame begun in the previous PES */

    while (s->carry_len > 0 && len > 0) {
        if (s->carry_len < 7) {
            n = 7 - s->carry_len;

        } else {
            flen = ingest_adts_parse(s->carry, s->carry_len, &f);
            if (flen == 0) {
                ts->stats.dropped_bytes += s->carry_len;
                s->carry_len = 0;
                break;
            }

            n = flen - s->carry_len;
        }

        if (n > len) {
            n = len;
        }

        memcpy(s->carry + s->carry_len, p, n);
        s->carry_len += n;
        p += n;
        len -= n;

        if (s->carry_len < 7) {
            continue;
        }

        flen = ingest_adts_parse(s->carry, s->carry_len, &f);

        if (flen == 0) {
            ts->stats.dropped_bytes += s->carry_len;
            s->carry_len = 0;
            break;
        }

        if (flen == s->carry_len) {
            s->carry_len = 0;

            if (ingest_ts_adts_frame(ts, s, &f, s->carry, flen) != 0) {
                return -1;
            }
        }
    }

    if (pts != INGEST_TS_NO_TIME) {
        s->aac_base = pts;
        s->aac_samples = 0;
    }

    while (len > 0) {
        flen = ingest_adts_parse(p, len, &f);

        if (flen == 0) {
            if (len < 7) {
                /* a header cut by the end of the PES */
                if (p[0] == 0xff) {
                    memcpy(s->carry, p, len);
                    s->carry_len = len;
                    return 0;
                }
            }

            /* not a frame: look for the next sync */

            for (skip = 1; skip < len; skip++) {
                if (p[skip] == 0xff) {
                    break;
                }
            }

            ts->stats.adts_errors++;
            ts->stats.dropped_bytes += skip;
            p += skip;
            len -= skip;
            s->lost = 1;
            continue;
        }

        if (flen > len) {
            memcpy(s->carry, p, len);
            s->carry_len = len;
            return 0;
        }

        if (ingest_ts_adts_frame(ts, s, &f, p, flen) != 0) {
            return -1;
        }

        p += flen;
        len -= flen;
    }

    return 0;
}


static int
ingest_ts_adts_frame(ingest_ts_t *ts, ingest_ts_stream_t *s,
    ingest_ts_frame_t *f, const unsigned char *p, size_t len)
{
    int64_t  t;

    if (s->aac_rate != f->sample_rate) {
        /* a new rate: samples count from here */
        if (s->aac_base != INGEST_TS_NO_TIME && s->aac_rate != 0) {
            s->aac_base = (s->aac_base + (int64_t) (s->aac_samples * 90000
                                                    / s->aac_rate))
                          & INGEST_TS_TIME_MASK;
        }

        s->aac_samples = 0;
        s->aac_rate = f->sample_rate;
    }

    t = INGEST_TS_NO_TIME;

    if (s->aac_base != INGEST_TS_NO_TIME) {
        t = (s->aac_base + (int64_t) (s->aac_samples * 90000 / s->aac_rate))
            & INGEST_TS_TIME_MASK;
    }

    s->aac_samples += f->samples;

    f->codec = INGEST_TS_CODEC_AAC;
    f->pid = s->pid;
    f->pts = t;
    f->dts = t;
    f->key = 1;
    f->discontinuity = s->lost;
    f->data = p;
    f->len = len;

    s->lost = 0;

    ts->stats.audio_frames++;

    return ingest_ts_emit(ts, f);
}


static int
ingest_ts_emit(ingest_ts_t *ts, ingest_ts_frame_t *f)
{
    ts->stats.frames++;

    if (f->key && f->codec != INGEST_TS_CODEC_AAC) {
        ts->stats.keyframes++;
    }

    if (ts->conf.handler == NULL) {
        return 0;
    }

    if (ts->conf.handler(ts->conf.ctx, f) != 0) {
        ts->aborted = 1;
        return -1;
    }

    return 0;
}


size_t
ingest_adts_parse(const unsigned char *p, size_t len, ingest_ts_frame_t *f)
{
    size_t    hlen, flen;
    unsigned  index, channels, object, blocks;

    if (len < 7 || p[0] != 0xff || (p[1] & 0xf6) != 0xf0) {
        return 0;
    }

    hlen = (p[1] & 0x01) ? 7 : 9;
    object = (p[2] >> 6) + 1;
    index = (p[2] >> 2) & 0x0f;
    channels = (p[2] & 0x01) << 2 | p[3] >> 6;
    flen = (size_t) (p[3] & 0x03) << 11 | (size_t) p[4] << 3 | p[5] >> 5;
    blocks = (p[6] & 0x03) + 1;

    if (ingest_ts_aac_rates[index] == 0 || flen <= hlen) {
        return 0;
    }

    f->aac_object = object;
    f->aac_rate_index = index;
    f->aac_channels = channels;
    f->sample_rate = ingest_ts_aac_rates[index];
    f->samples = 1024 * blocks;

    return flen;
}


int
ingest_annexb_next(const unsigned char **pos, const unsigned char *end,
    const unsigned char **nal, size_t *len)
{
    const unsigned char  *p, *start;

    p = *pos;

    /* the start code */

    for ( ;; ) {
        if (end - p < 3) {
            *pos = end;
            return 0;
        }

        if (p[0] == 0 && p[1] == 0 && p[2] == 1) {
            break;
        }

        p++;
    }

    start = p + 3;

    /* the next start code, or the end */

    for (p = start; end - p >= 3; p++) {
        if (p[0] == 0 && p[1] == 0 && (p[2] == 1 || p[2] == 0)) {
            break;
        }
    }

    if (end - p < 3) {
        p = end;
    }

    *pos = p;

    /* trailing zero bytes belong to the next start code */

    while (p > start && p[-1] == 0) {
        p--;
    }

    *nal = start;
    *len = p - start;

    return 1;
}


int
ingest_annexb_key(ingest_ts_codec_t codec, const unsigned char *p,
    size_t len)
{
    size_t                n;
    unsigned              type;
    const unsigned char  *pos, *end, *nal;

    pos = p;
    end = p + len;

    while (ingest_annexb_next(&pos, end, &nal, &n)) {
        if (n == 0) {
            continue;
        }

        if (codec == INGEST_TS_CODEC_H264) {
            type = nal[0] & 0x1f;

            if (type >= 1 && type <= 5) {
                return type == 5;
            }

        } else if (codec == INGEST_TS_CODEC_H265) {
            type = (nal[0] >> 1) & 0x3f;

            if (type <= 31) {
                return type >= 16 && type <= 23;
            }

        } else {
            return 0;
        }
    }

    return 0;
}


int64_t
ingest_ts_diff(int64_t a, int64_t b)
{
    int64_t  d;

    d = (b - a) & INGEST_TS_TIME_MASK;

    if (d >= (INT64_C(1) << 32)) {
        d -= INT64_C(1) << 33;
    }

    return d;
}


uint32_t
ingest_ts_crc32(const unsigned char *p, size_t len)
{
    size_t    i;
    uint32_t  crc;
    unsigned  k;

    crc = 0xffffffff;

    for (i = 0; i < len; i++) {
        crc ^= (uint32_t) p[i] << 24;

        for (k = 0; k < 8; k++) {
            crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1;
        }
    }

    return crc;
}


static int64_t
ingest_ts_time(const unsigned char *p)
{
    return (int64_t) (p[0] & 0x0e) << 29
           | (int64_t) p[1] << 22
           | (int64_t) (p[2] & 0xfe) << 14
           | (int64_t) p[3] << 7
           | (int64_t) (p[4] >> 1);
}


static void
ingest_ts_release(ingest_ts_t *ts, ingest_ts_stream_t *s)
{
    if (s->buf != NULL) {
        ts->conf.free(ts->conf.alloc_data, s->buf);
        s->buf = NULL;
    }

    s->size = 0;
    s->len = 0;
}


static void *
ingest_ts_malloc(void *data, size_t size)
{
    (void) data;

    return malloc(size);
}


static void
ingest_ts_mfree(void *data, void *p)
{
    (void) data;

    free(p);
}
