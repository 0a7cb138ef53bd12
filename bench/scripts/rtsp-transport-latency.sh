#!/usr/bin/env bash
# Receive -> publish latency of one RTSP camera over TCP and over UDP (issue 16):
# the GStreamer test server serves a 1080p30 H.264 clip, `heart run` reads it
# with no consumers (so only capture is measured), alternating TCP and UDP,
# and the summary's latency_ms.receive_to_publish is printed per run, then the
# medians. Usage: bench/scripts/rtsp-transport-latency.sh [ROUNDS] [SECONDS] [EXTRA_QUERY]
# EXTRA_QUERY (e.g. '&reorderMs=20') is appended to the UDP URL only.
set -euo pipefail
rounds=${1:-3}
seconds=${2:-20}
extra=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${HEART_BENCH_DIR:-${TMPDIR:-/tmp}/heart-rtsp-latency}
mkdir -p "$work"
clip=$work/noisy-1080p30-40s.mp4
# Camera-like: temporal noise (every frame differs), a keyframe a second, no B-frames, 6 Mbit/s.
if [ ! -f "$clip" ]; then
  ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30,noise=alls=20:allf=t -t 40 \
    -c:v libx264 -preset veryfast -bf 0 -g 30 -b:v 6M -maxrate 6M -bufsize 6M -pix_fmt yuv420p "$clip"
fi
printf 'consumers: []\nthermal:\n  enabled: false\n' > "$work/bare.yaml"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
/usr/bin/python3 "$root/packages/capture/test/support/rtsp_server.py" --port "$port" --mount "/cam=$clip" > "$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q READY "$work/server.log" && break; sleep 0.1; done
for round in $(seq "$rounds"); do
  for transport in tcp udp; do
    node "$root/packages/cli/dist/src/bin.js" run --config "$work/bare.yaml" \
      --source "rtsp://127.0.0.1:$port/cam?transport=$transport$([ "$transport" = udp ] && printf %s "$extra")" --duration "$seconds" \
      --summary "$work/$transport-$round.json" > "$work/$transport-$round.log" 2>&1
  done
done
node -e "
const [work, rounds] = [process.argv[1], Number(process.argv[2])]
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
for (const t of ['tcp', 'udp']) {
  const runs = []
  for (let r = 1; r <= rounds; r++) runs.push(require(work + '/' + t + '-' + r + '.json').latency_ms.receive_to_publish)
  console.log(t, 'runs', JSON.stringify(runs), 'median p50', median(runs.map((x) => x.p50)), 'p99', median(runs.map((x) => x.p99)))
}" "$work" "$rounds"
