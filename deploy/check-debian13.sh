#!/usr/bin/env bash
# Builds heart's native crate against Debian 13's FFmpeg (7.1) and runs it.
#
# Why: the prebuilt addon links Debian 12's FFmpeg 5.1; on Debian 13 the
# install script builds the crate from source against FFmpeg 7.1. This checks
# that build on a Debian 12 machine: it makes a Debian 13 (trixie) root with
# debootstrap from Debian's packages, builds the crate there with
# `cargo build --release` (and `cargo test --release`), then with Debian 13's
# node decodes an H.264 clip through the built addon and muxes the clip's
# packets back into an MP4 with Mp4Muxer. docs/deploy.md has the result.
#
# Run as root from the checkout (about 10 minutes the first time, ~300 MB of
# packages):
#
#   bash deploy/check-debian13.sh [ROOT]
#
# ROOT (or $HEART_DEBIAN13_ROOT) is the Debian 13 root, default
# /var/tmp/heart-debian13. It is kept and reused by later runs; delete it to
# start again. Other settings:
#   HEART_DEBIAN_MIRROR  the Debian mirror; default: the first Debian URI in
#                        /etc/apt/sources.list.d/ (or /etc/apt/sources.list)
#   HEART_RUST_SYSROOT   the Rust toolchain (1.88 or newer) bind-mounted into
#                        the root; default: `rustc --print sysroot` on this host
#                        (Debian 13's own rustc is too old for napi 3)
#   HEART_NATIVE_DIR     the crate to build, default native/ in this checkout
#   HEART_CLEAN_BUILD=1  remove the root's cargo target folder first
#   HEART_CARGO_TEST=0   skip `cargo test --release` in the root
#   CARGO_NET_OFFLINE    passed to cargo; the crates are otherwise fetched from
#                        crates.io, once (the root keeps its cargo cache, seeded
#                        from this host's ~/.cargo/registry when there is one)
# Certificate authorities this host adds in /usr/local/share/ca-certificates
# are added in the root too, so cargo there reaches crates.io as the host does.
#
# It exits non-zero, saying which step failed, when any step fails. The
# mounts it makes in the root are undone on exit, failed or not.
set -euo pipefail

started=$(date +%s)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
crate=${HEART_NATIVE_DIR:-$repo/native}
root=${1:-${HEART_DEBIAN13_ROOT:-/var/tmp/heart-debian13}}
suite=trixie
step=setup

log() { printf '== %s\n' "$*"; }
die() {
  printf 'check-debian13: FAILED at step "%s": %s\n' "$step" "$*" >&2
  exit 1
}
trap 'rc=$?; if [ "$rc" -ne 0 ]; then printf "check-debian13: FAILED at step \"%s\" (exit %s)\n" "$step" "$rc" >&2; fi' ERR

[ "$(id -u)" = 0 ] || die "run it as root (debootstrap, mount and chroot need it)"
case $root in
  /?*) ;;
  *) die "the root must be an absolute path other than /: '$root'" ;;
esac
root=${root%/}
[ -f "$crate/Cargo.toml" ] || die "no crate at $crate"

# --- The mirror: the one this host's apt uses, not a name written here.
find_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { if ($i ~ /\/debian\/?$/) print $i; exit } }' "$f" | head -n 1)
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
}
mirror=${HEART_DEBIAN_MIRROR:-$(find_mirror)}
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/; set HEART_DEBIAN_MIRROR"

# --- The Rust toolchain from this host.
step=rust
if [ -z "${HEART_RUST_SYSROOT:-}" ]; then
  rustc_bin=$(command -v rustc || true)
  [ -n "$rustc_bin" ] || rustc_bin=$HOME/.cargo/bin/rustc
  [ -x "$rustc_bin" ] || die "no rustc on this host (install it with rustup, or set HEART_RUST_SYSROOT)"
  HEART_RUST_SYSROOT=$(cd "$crate" && "$rustc_bin" --print sysroot)
fi
rust_sysroot=$HEART_RUST_SYSROOT
[ -x "$rust_sysroot/bin/cargo" ] && [ -x "$rust_sysroot/bin/rustc" ] ||
  die "$rust_sysroot has no bin/cargo and bin/rustc"
rust_version=$("$rust_sysroot/bin/rustc" --version)
read -r major minor < <(sed -E 's/^rustc ([0-9]+)\.([0-9]+).*/\1 \2/' <<<"$rust_version")
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 88 ]; }; then
  die "$rust_version is too old: napi 3 needs Rust 1.88 or newer"
fi

log "root $root (Debian 13 $suite), mirror $mirror, $rust_version from $rust_sysroot"

# --- Mounts, undone on exit whatever happens.
mounted=()
mount_in() { # mount_in TARGET ARGS...: mounts unless already mounted
  local target=$1
  shift
  mkdir -p "$target"
  if ! mountpoint -q "$target"; then
    mount "$@" "$target"
    mounted+=("$target")
  fi
}
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
      echo "check-debian13: could not unmount ${mounted[i]}" >&2
  done
  mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() { # runs a command in the root with a clean environment
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/root/.cargo ${CARGO_NET_OFFLINE:+CARGO_NET_OFFLINE=$CARGO_NET_OFFLINE} "$@"
}

# --- 1. debootstrap on the host, then the Debian 13 root.
step=debootstrap
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap on the host"
  apt-get install -y --no-install-recommends debootstrap >/dev/null || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends debootstrap >/dev/null
  } || die "cannot install debootstrap on the host"
fi
if [ -f "$root/.heart-debootstrap-done" ]; then
  log "reusing the Debian 13 root in $root"
else
  log "debootstrap --variant=minbase $suite $root (downloads the base system)"
  mkdir -p "$root"
  nice -n 19 debootstrap --variant=minbase "$suite" "$root" "$mirror" ||
    die "debootstrap failed (its log: $root/debootstrap/debootstrap.log)"
  touch "$root/.heart-debootstrap-done"
fi
grep -q '^13' "$root/etc/debian_version" || die "$root is not Debian 13: $(cat "$root/etc/debian_version")"

mount_in "$root/proc" -t proc proc
mount_in "$root/sys" -t sysfs -o ro sysfs
mount_in "$root/dev" --bind /dev
mount_in "$root/opt/rust" --bind -o ro "$rust_sysroot"
mount -o remount,bind,ro "$root/opt/rust"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

# --- 2. Debian 13's packages: the ones the install script asks for, FFmpeg's
# CLI for the clip, node, and a C toolchain for cargo's linker.
step=packages
packages=(pkg-config clang libclang-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
  ffmpeg nodejs gcc libc6-dev binutils ca-certificates)
if [ -f "$root/.heart-packages" ] && [ "$(cat "$root/.heart-packages")" = "${packages[*]}" ]; then
  log "packages already installed in the root"
else
  log "apt-get install in the root: ${packages[*]}"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  in_root nice -n 19 apt-get update -q || die "apt-get update failed in the root"
  in_root nice -n 19 apt-get install -y -q --no-install-recommends "${packages[@]}" ||
    die "apt-get install failed in the root"
  in_root apt-get clean
  echo "${packages[*]}" >"$root/.heart-packages"
fi
# The certificate authorities this host adds to Debian's (a TLS-inspecting
# proxy's, say) so that cargo in the root reaches crates.io as the host does.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  in_root update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the root"
fi

# --- 3. The crate, without its build output and node_modules.
step=copy
dest=$root/opt/heart/native
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name target -exec rm -rf {} +
tar -C "$crate" --exclude=./target --exclude=./node_modules --exclude=./dist --exclude='*.node' -cf - . |
  tar -C "$dest" -xmf - # -m: new mtimes, so cargo rebuilds what differs from the last run
if [ "${HEART_CLEAN_BUILD:-0}" = 1 ]; then rm -rf "$dest/target"; fi
if [ ! -d "$root/root/.cargo/registry" ] && [ -d "$HOME/.cargo/registry" ]; then
  log "seeding the root's cargo cache from $HOME/.cargo/registry"
  mkdir -p "$root/root/.cargo"
  cp -a "$HOME/.cargo/registry" "$root/root/.cargo/"
fi

# --- 4. What FFmpeg the root has.
step=ffmpeg-version
avformat_version=$(in_root pkg-config --modversion libavformat) || die "pkg-config finds no libavformat in the root"
ffmpeg_version=$(in_root ffmpeg -hide_banner -version | head -n 1)
log "libavformat $avformat_version (pkg-config --modversion libavformat)"
log "$ffmpeg_version"
log "node $(in_root node --version), $(in_root rustc --version)"

# --- 5. cargo build --release in the root.
step=cargo-build
log "cargo build --release in /opt/heart/native"
build_start=$(date +%s)
in_root sh -c 'cd /opt/heart/native && exec nice -n 19 cargo build --release --locked' || die "cargo build --release failed in the root"
build_s=$(($(date +%s) - build_start))
so=$dest/target/release/libheart_native.so
[ -f "$so" ] || die "the build left no $so"
log "built in ${build_s} s: /opt/heart/native/target/release/libheart_native.so"
needed=$(in_root readelf -d /opt/heart/native/target/release/libheart_native.so |
  sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
avformat_soname=$(grep '^libavformat' <<<"$needed") || die "the addon has no NEEDED libavformat"
log "NEEDED: $(tr '\n' ' ' <<<"$needed")"
log "NEEDED libavformat: $avformat_soname"

# --- 6. cargo test --release in the root (the crate's Rust unit tests).
test_s=skipped
if [ "${HEART_CARGO_TEST:-1}" != 0 ]; then
  step=cargo-test
  log "cargo test --release in /opt/heart/native"
  test_start=$(date +%s)
  in_root sh -c 'cd /opt/heart/native && exec nice -n 19 cargo test --release --locked' || die "cargo test --release failed in the root"
  test_s="$(($(date +%s) - test_start)) s"
fi

# --- 7. The addon in Debian 13's node: decode an H.264 clip made by Debian
# 13's ffmpeg, through index.js (the loader heart uses) and Source.
step=smoke
cp "$so" "$dest/heart-native.linux-x64-gnu.node"
encoders=$(in_root ffmpeg -hide_banner -encoders)
if grep -q ' libx264 ' <<<"$encoders"; then
  encoder=libx264
elif grep -q ' libopenh264 ' <<<"$encoders"; then
  encoder=libopenh264
else
  die "Debian 13's ffmpeg has no H.264 encoder (libx264, libopenh264)"
fi
clip=/opt/heart/smoke.mp4
in_root nice -n 19 ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 2 \
  -c:v "$encoder" -pix_fmt yuv420p "$clip" || die "ffmpeg could not make the clip"
expected=$(in_root ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$clip")
cat >"$root/opt/heart/smoke.mjs" <<'EOF'
// Decodes a file through heart's addon, muxes its packets back into an MP4
// with Mp4Muxer, and says what it got.
import { createRequire } from 'node:module'
import { readFileSync, writeFileSync } from 'node:fs'

const [clip, expected, muxed] = process.argv.slice(2)
const require = createRequire('/opt/heart/native/index.js')
try {
  require.resolve('@heart/native-linux-x64-gnu')
  throw new Error('the prebuilt package is installed here: the check must load the addon built in the root')
} catch (error) {
  if (error.code !== 'MODULE_NOT_FOUND') throw error
}
const { Mp4Muxer, PACKET_RECORD_HEADER_BYTES, Source, monotonicNs } = await import('/opt/heart/native/index.js')
const mapped = [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5]))]
const lib = (re) => mapped.find((p) => p && re.test(p)) ?? 'not mapped'
console.log(`addon: ${lib(/heart-native/)}; libavformat: ${lib(/libavformat\.so/)}`)

// takePackets() records: u32 size, u32 flags, f64 pts, dts, duration (µs), u64 stamp, payload padded to 8.
const packets = []
const records = new Uint8Array(8 << 20)
function takePackets(source) {
  const batch = source.takePackets(records)
  const view = new DataView(records.buffer)
  for (let i = 0, at = 0; i < batch.count; i++) {
    const size = view.getUint32(at, true)
    const start = at + PACKET_RECORD_HEADER_BYTES
    packets.push({
      data: records.slice(start, start + size),
      keyframe: (view.getUint32(at + 4, true) & 1) === 1,
      ptsUs: view.getFloat64(at + 8, true),
      dtsUs: view.getFloat64(at + 16, true),
      durationUs: view.getFloat64(at + 24, true),
    })
    at = start + Math.ceil(size / 8) * 8
  }
}

const t0 = monotonicNs()
const source = await Source.open({ kind: 'file', target: clip, redacted: `file://${clip}` }, { decoder: 'software', packets: true })
const { codec, width, height, pixFmt, backend, byteLength, codecConfig } = source.info
const dst = new Uint8Array(new SharedArrayBuffer(byteLength))
let frames = 0
let decodeErrors = 0
let lit = 0
for (;;) {
  const frame = await source.readInto(dst).catch((error) => error)
  takePackets(source)
  if (frame instanceof Error) {
    if (frame.code !== 'END_OF_STREAM') throw frame
    break
  }
  frames++
  decodeErrors += frame.decodeErrors
  if (dst.some((v) => v !== 0)) lit++
}
source.close()
const ms = Number(monotonicNs() - t0) / 1e6

const muxer = new Mp4Muxer({ codec, width, height, codecConfig })
const first = packets[0].dtsUs
for (const p of packets) muxer.write(p.data, p.ptsUs - first, p.dtsUs - first, p.durationUs, p.keyframe)
writeFileSync(muxed, Buffer.concat([muxer.initSegment, muxer.cut()]))
muxer.close()

console.log(
  `decoded ${frames} frames (${codec} ${width}x${height} ${pixFmt}, ${backend}) in ${ms.toFixed(0)} ms; ` +
    `${lit} with picture data, ${decodeErrors} decode errors; ffprobe counts ${expected}; ` +
    `${packets.length} packets muxed into ${muxed}`,
)
if (frames !== Number(expected) || lit !== frames || decodeErrors !== 0 || packets.length !== frames) {
  console.error('smoke check: the addon did not decode (or tap) every frame of the clip')
  process.exit(1)
}
EOF
log "node: decode $clip ($encoder, $expected frames) through /opt/heart/native/index.js, mux its packets"
muxed=/opt/heart/smoke-muxed.mp4
rm -f "$root$muxed"
smoke=$(in_root node /opt/heart/smoke.mjs "$clip" "$expected" "$muxed") || {
  printf '%s\n' "$smoke"
  die "the addon did not load, decode or mux in Debian 13's node"
}
printf '%s\n' "$smoke"
muxed_frames=$(in_root ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$muxed") ||
  die "ffprobe cannot read the MP4 Mp4Muxer wrote"
[ "$muxed_frames" = "$expected" ] || die "the MP4 Mp4Muxer wrote has $muxed_frames frames, not $expected"
log "ffprobe counts $muxed_frames frames in the MP4 Mp4Muxer wrote"

step=done
total_s=$(($(date +%s) - started))
cat <<EOF
== check-debian13: passed
   Debian $(cat "$root/etc/debian_version"), libavformat $avformat_version, $ffmpeg_version
   $rust_version; cargo build --release: ${build_s} s; cargo test --release: $test_s
   NEEDED $avformat_soname
   $(tail -n 1 <<<"$smoke")
   Mp4Muxer's MP4: $muxed_frames frames (ffprobe)
   total ${total_s} s
EOF
