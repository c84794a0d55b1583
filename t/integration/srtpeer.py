"""
A minimal SRT caller on libsrt itself (ctypes), for the tests that need
the exact reject reason of a handshake: ffmpeg and srt-live-transmit
print only "Application-defined rejection reason", not the code.

    code = srt_connect(port, "#!::r=cam,m=publish,t=...")   # 0: accepted
"""

import ctypes
import ctypes.util
import socket
import struct
import threading

SRTO_SNDSYN = 1
SRTO_RCVSYN = 2
SRTO_PASSPHRASE = 26
SRTO_PBKEYLEN = 27
SRTO_CONNTIMEO = 36
SRTO_STREAMID = 46

_lib = None
_lock = threading.Lock()


def lib():
    global _lib
    with _lock:
        if _lib is None:
            for name in ("libsrt.so.1.5", "libsrt-gnutls.so.1.5",
                         ctypes.util.find_library("srt")):
                if not name:
                    continue
                try:
                    _lib = ctypes.CDLL(name)
                    break
                except OSError:
                    continue
            if _lib is None:
                raise RuntimeError("libsrt not found")
            _lib.srt_startup()
            _lib.srt_setloglevel(2)         # LOG_CRIT: quiet
            _lib.srt_getlasterror_str.restype = ctypes.c_char_p
            _lib.srt_rejectreason_str.restype = ctypes.c_char_p
    return _lib


def _setopt(l, s, opt, value):
    if isinstance(value, int):
        v = ctypes.c_int(value)
        r = l.srt_setsockflag(s, opt, ctypes.byref(v), 4)
    else:
        b = value.encode() if isinstance(value, str) else value
        r = l.srt_setsockflag(s, opt, ctypes.c_char_p(b), len(b))
    if r != 0:
        raise RuntimeError("srt_setsockflag(%d): %s"
                           % (opt, l.srt_getlasterror_str().decode()))


def srt_connect(port, streamid, passphrase=None, pbkeylen=16,
                timeout_ms=3000, send=b"", keep=False):
    """connects as a caller; returns the reject reason (0 when accepted;
    1000+ application codes, < 1000 libsrt's own, e.g. 10 BADSECRET),
    or (0, socket) with keep=True"""
    l = lib()
    s = l.srt_create_socket()
    try:
        _setopt(l, s, SRTO_STREAMID, streamid)
        _setopt(l, s, SRTO_CONNTIMEO, timeout_ms)
        if passphrase is not None:
            _setopt(l, s, SRTO_PASSPHRASE, passphrase)
            _setopt(l, s, SRTO_PBKEYLEN, pbkeylen)
        sa = struct.pack("!HH4s8x", socket.AF_INET, port,
                         socket.inet_aton("127.0.0.1"))
        # sockaddr_in has a host-order family on Linux
        sa = struct.pack("=H", socket.AF_INET) + sa[2:]
        buf = ctypes.create_string_buffer(sa, len(sa))
        r = l.srt_connect(s, buf, len(sa))
        if r != 0:
            return l.srt_getrejectreason(s)
        if send:
            for i in range(0, len(send), 1316):
                chunk = send[i:i + 1316]
                l.srt_sendmsg(s, chunk, len(chunk), -1, 1)
        if keep:
            sock, s = s, None
            return 0, sock
        return 0
    finally:
        if s is not None:
            l.srt_close(s)


def srt_close(sock):
    lib().srt_close(sock)


def reject_str(code):
    return lib().srt_rejectreason_str(code).decode()
