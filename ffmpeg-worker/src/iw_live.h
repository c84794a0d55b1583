
/*
 * Copyright (C) nginx video ingest developers
 *
 * The live packager: an MPEG-TS byte stream on a connected socket
 * (preceded by a "stream NAME\n" line), H.264 and AAC copied into CMAF
 * parts and segments, and LL-HLS playlists rewritten after every part:
 *
 *   <live_output>/<name>/master.m3u8
 *   <live_output>/<name>/{video,audio}/index.m3u8        full playlist
 *   <live_output>/<name>/{video,audio}/index-delta.m3u8  _HLS_skip=YES
 *   <live_output>/<name>/{video,audio}/init.mp4, seg<MSN>.m4s,
 *                                      part<N>.m4s
 *
 * Part numbers run across segments, so the preload hint always names
 * the next part. Every file is written by temp + rename; segments that
 * leave the window are deleted with their parts.
 *
 * With live_transcode on, the video is decoded and encoded into the
 * rungs of the live profile that fit the source, keyframes forced at the
 * segment boundaries on every rendition, each rendition a track of its
 * own (<name>/<height>p/) with rendition reports of all the others.
 */


#ifndef _IW_LIVE_H_INCLUDED_
#define _IW_LIVE_H_INCLUDED_


#include "iw_conf.h"


/* listening unix socket for live input; -1 on error */
int iw_live_listen(const char *path);

/* runs one connected stream until its end or a stop; closes fd */
void iw_live_run(const iw_conf_t *conf, int fd);


#endif /* _IW_LIVE_H_INCLUDED_ */
