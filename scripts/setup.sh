#!/usr/bin/env bash
# Installs everything heart needs on a fresh Debian 12 machine (run as root or
# with sudo): FFmpeg development files for the native crate, GStreamer's RTSP
# server for the tests, Prometheus, Chromium, mosquitto, MLServer (from PyPI,
# in .venv-mlserver), then pnpm, the workspace's npm packages, and finally
# builds the native crate and every TypeScript package.
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

DEBIAN_PACKAGES=(
  # native crate: FFmpeg 5.1 libraries found with pkg-config, bindgen needs libclang
  pkg-config clang libclang-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev
  # the FFmpeg CLI generates test media and is the decode bench's peer
  ffmpeg
  # a real RTSP server for the capture tests (run with /usr/bin/python3)
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # observability and live-view tests
  prometheus chromium
  # a TLS certificate for the rtsps:// test server
  openssl
  # systemd-analyze checks the service unit (deploy/systemd/heart.service)
  systemd
  # a real MQTT broker (and its CLI clients) for the MQTT tests
  mosquitto mosquitto-clients
  # a virtual environment for MLServer, the real Open Inference Protocol server of the detection tests
  python3-venv
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust (cargo) is required; install it with rustup or Debian's cargo" >&2
    exit 1
  fi
fi

# `pnpm test` checks the crate's format and lints it.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy
  else
    echo "setup: installing Debian's rustfmt and clippy"
    $SUDO apt-get install -y -qq --no-install-recommends rustfmt rust-clippy
  fi
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm"
  npm install -g pnpm@9.15.9 >/dev/null
fi

# MLServer (Seldon's Open Inference Protocol v2 server) from PyPI, for the
# detection client's tests (packages/vision/src/testing/mlserver.ts); pinned,
# and skipped when that version is already in .venv-mlserver.
MLSERVER_VERSION=1.7.1
# (Its dist-info folder says which version is there without importing it, which takes seconds.)
if ! compgen -G ".venv-mlserver/lib/python3*/site-packages/mlserver-$MLSERVER_VERSION.dist-info" >/dev/null || [ ! -x .venv-mlserver/bin/mlserver ]; then
  echo "setup: installing MLServer $MLSERVER_VERSION into .venv-mlserver"
  rm -rf .venv-mlserver
  /usr/bin/python3 -m venv .venv-mlserver
  # Its dependencies pinned too (pip freeze of the version the tests were written against).
  .venv-mlserver/bin/pip install --quiet --disable-pip-version-check \
    -c packages/vision/test/fixtures/mlserver/constraints.txt "mlserver==$MLSERVER_VERSION"
fi

pnpm install --frozen-lockfile
pnpm run build
