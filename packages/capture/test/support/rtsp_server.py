#!/usr/bin/python3
"""A real RTSP server for the capture tests: GStreamer's gst-rtsp-server
serving pre-encoded MP4 clips (no live encoding, so it costs little CPU).

Run it with /usr/bin/python3: the python3 first on PATH may be a separate
build without the gi bindings.

    rtsp_server.py --port 8554 --mount /h264=/tmp/a.mp4 --mount /h265=/tmp/b.mp4 [--auth user:pass] [--tls cert+key.pem]

With --tls the server speaks RTSP over TLS (rtsps://) with that certificate.

Each client gets its own pipeline starting at the beginning of the file (a
keyframe), paced at real time. Prints "READY <port>" on stdout once the
server listens, so the test harness knows when to connect.
"""
import argparse
import ctypes
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import Gio, GLib, Gst, GstPbutils, GstRtspServer  # noqa: E402

PARSERS = {
    # codec: (parser, payloader); config-interval=-1 repeats SPS/PPS (and VPS)
    # before every keyframe so a client joining or rejoining always decodes.
    "h264": ("h264parse config-interval=-1", "rtph264pay config-interval=-1"),
    "h265": ("h265parse config-interval=-1", "rtph265pay config-interval=-1"),
}


def codec_of(path):
    """Ask GStreamer's discoverer which codec the clip holds."""
    info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(Gst.filename_to_uri(path))
    for stream in info.get_video_streams():
        caps = stream.get_caps().to_string()
        if caps.startswith("video/x-h264"):
            return "h264"
        if caps.startswith("video/x-h265"):
            return "h265"
        raise SystemExit(f"rtsp_server: {path} holds {caps.split(',')[0]}; only H.264 and H.265 are served")
    raise SystemExit(f"rtsp_server: {path} has no video stream")


def die_with_parent():
    """Ask Linux to SIGTERM us when the test process that started us dies,
    so a test runner killed on a timeout cannot leave a server behind."""
    parent = os.getppid()
    try:
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return  # not Linux/glibc: the harness still stops us by PID
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(0)


def main():
    die_with_parent()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--mount", action="append", default=[], metavar="/PATH=FILE.mp4",
                    help="serve FILE.mp4 at rtsp://ADDRESS:PORT/PATH (repeatable)")
    ap.add_argument("--auth", metavar="USER:PASS", action="append", default=[],
                    help="require RTSP basic authentication; repeat for more users (the password is all after the first ':')")
    ap.add_argument("--tls", metavar="PEM",
                    help="serve rtsps:// with the certificate and private key in this PEM file")
    args = ap.parse_args()
    if not args.mount:
        ap.error("give at least one --mount /path=file.mp4")

    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    role = None
    if args.auth or args.tls:
        role = "viewer"
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", role)
        for credentials in args.auth:
            user, sep, password = credentials.partition(":")
            if not sep:
                ap.error("--auth wants USER:PASS")
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        if not args.auth:
            # TLS without basic auth: everyone gets the viewer role.
            auth.set_default_token(token)
        if args.tls:
            auth.set_tls_certificate(Gio.TlsCertificate.new_from_file(args.tls))
        server.set_auth(auth)
    for spec in args.mount:
        path, sep, filename = spec.partition("=")
        if not sep or not path.startswith("/") or not os.path.isfile(filename):
            ap.error(f"bad --mount {spec!r}: want /path=existing-file.mp4")
        parser, payloader = PARSERS[codec_of(filename)]
        location = filename.replace("\\", "\\\\").replace('"', '\\"')
        factory = GstRtspServer.RTSPMediaFactory.new()
        factory.set_launch(f'( filesrc location="{location}" ! qtdemux ! {parser} ! {payloader} name=pay0 pt=96 )')
        factory.set_shared(False)
        if role:
            structure = Gst.Structure.new_empty(role)
            structure.set_value("media.factory.access", True)
            structure.set_value("media.factory.construct", True)
            factory.add_role_from_structure(structure)
        mounts.add_factory(path, factory)

    if server.attach(None) == 0:
        print(f"rtsp_server: could not listen on {args.address}:{args.port} (port in use?)", file=sys.stderr, flush=True)
        sys.exit(3)

    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
