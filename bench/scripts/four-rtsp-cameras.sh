#!/usr/bin/env bash
# Four cameras for docs/examples/four-rtsp-cameras.yaml: an 11-minute
# 1080p30 H.264 clip made with the FFmpeg CLI (noise on a test pattern, so
# the movement detector and the decoder have real work), served at real time
# by four GStreamer RTSP servers on 127.0.0.1:8601..8604, one per camera, so
# one can be stopped alone. Runs until Ctrl-C, then stops the servers it
# started (by PID).
#   bash bench/scripts/four-rtsp-cameras.sh [CLIP_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-${TMPDIR:-/tmp}/heart-four-cameras}
clip=$dir/cam1080p30.mp4
mkdir -p "$dir"
if [ ! -s "$clip" ]; then
  echo "encoding $clip (11 min of 1080p30, a few minutes)" >&2
  ffmpeg -v error -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=8:allf=t" -t 660 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -bf 0 -b:v 4M -maxrate 4M -bufsize 8M \
    -pix_fmt yuv420p -movflags +faststart "$clip.part.mp4"
  mv "$clip.part.mp4" "$clip"
fi
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap stop EXIT INT TERM
for port in 8601 8602 8603 8604; do
  /usr/bin/python3 "$here/packages/capture/test/support/rtsp_server.py" --port "$port" --mount "/cam=$clip" &
  pids+=($!)
done
echo "serving rtsp://127.0.0.1:8601..8604/cam (PIDs ${pids[*]}); Ctrl-C stops them" >&2
wait
