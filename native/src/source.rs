//! The JS face of the capture pipeline: `probe()`, `Source.open()`,
//! `source.readInto()`, `source.close()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use napi::bindgen_prelude::{AsyncTask, BigInt, Unknown};
use napi::{Env, JsValue, Task};
use napi_derive::napi;

use crate::codec::normalize_codec;
use crate::error::{ErrorCode, HeartError, HeartResult};
use crate::init::AbortFlags;
use crate::js::{ByteView, NullableBytes, SignalHook};
use crate::layout::{PixFmt, PlaneLayout};
use crate::media::{
  CropRect, DecodeSettings, DecoderPref, Expectations, FrameStamp, OpenConfig, OutputSpec, PacketBatch, PacketTap,
  Pipeline, SourceInfo,
};
use crate::spec::{self, SourceSpec};
use crate::threads::CLOSE_THREAD_NAME;

/// The frames readInto() writes: pixel format, optional crop of the source,
/// optional output size (give one side to keep the aspect ratio).
#[napi(object)]
#[derive(Clone)]
pub struct OutputOptions {
  /// Default 'yuv420p'.
  #[napi(ts_type = "'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'")]
  pub pix_fmt: Option<String>,
  /// Output width in pixels; default: the (cropped) source width.
  pub width: Option<u32>,
  /// Output height in pixels; default: the (cropped) source height.
  pub height: Option<u32>,
  /// Region of the source to keep, applied before scaling.
  pub crop: Option<CropRect>,
}

/// How to open a source: decoder, output and limits. What the source is
/// (and its own options: transport, loop, size...) is the SourceSpec.
#[napi(object)]
#[derive(Clone, Default)]
pub struct OpenOptions {
  /// Decoder backend. 'auto' tries vaapi, cuda, v4l2m2m where their devices
  /// exist; any hardware backend that cannot be used falls back to software
  /// and says why in `info.fallbackReason`. Default 'auto'.
  #[napi(ts_type = "'auto' | 'software' | 'vaapi' | 'cuda' | 'v4l2m2m'")]
  pub decoder: Option<String>,
  /// Output format, crop and size.
  pub output: Option<OutputOptions>,
  /// Deliver at most this many frames per second (others are decoded and
  /// skipped before conversion, counted in `rateLimited`).
  pub fps_cap: Option<f64>,
  /// Refuse (FORMAT_MISMATCH) a source wider than this.
  pub max_width: Option<u32>,
  /// Refuse (FORMAT_MISMATCH) a source taller than this.
  pub max_height: Option<u32>,
  /// Refuse (FORMAT_MISMATCH) a source whose codec differs: 'h264', 'hevc' (or 'h265'), 'mjpeg'.
  pub expect_codec: Option<String>,
  /// Longest a blocking step (connect, stream info, one packet read) may take
  /// before failing with TIMEOUT. Default 10000.
  pub timeout_ms: Option<u32>,
  /// Decoder threads; 0 (default) lets FFmpeg pick from the core count.
  pub threads: Option<u32>,
  /// Slice threads only and no frame reordering delay: each frame leaves the
  /// decoder as soon as its packet is in. Default true for live sources
  /// (rtsp, v4l2, realtime files, testsrc), false for files read flat out.
  pub low_latency: Option<bool>,
  /// Drop frames the decoder had to conceal damage in (counted in
  /// `decodeErrors`) instead of delivering them with `corrupt: true`.
  /// Default true.
  pub drop_corrupt: Option<bool>,
  /// Copy every compressed video packet (H.264 / HEVC, normalised to Annex
  /// B) into a bounded queue that `takePackets()` drains, for recording and
  /// passthrough viewing without re-encoding. Default false.
  pub packets: Option<bool>,
}

/// The negotiated output of an open source: the layout readInto() writes
/// (identical to frameLayout(width, height, pixFmt) in @heart/ring), and
/// what it is decoded from.
#[napi(object, object_from_js = false)]
#[derive(Clone)]
pub struct OutputInfo {
  /// The URL with credentials replaced by ***.
  pub url: String,
  pub codec: String,
  /// Output width in pixels.
  pub width: u32,
  /// Output height in pixels.
  pub height: u32,
  #[napi(ts_type = "'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'")]
  pub pix_fmt: String,
  /// Planes inside the destination buffer, tightly packed, strides a multiple of 64.
  pub planes: Vec<PlaneLayout>,
  /// Bytes one frame needs: size ring slots with this.
  pub byte_length: u32,
  /// 'software', 'vaapi', 'cuda' or 'v4l2m2m'.
  pub backend: String,
  /// Why hardware decoding is not used, when it was asked for or tried.
  pub fallback_reason: Option<String>,
  pub source_width: u32,
  pub source_height: u32,
  /// The decoded frames' pixel format as FFmpeg names it.
  pub source_pix_fmt: String,
  /// Frames per second the stream announces (0 when it does not say).
  pub fps: f64,
  /// The packet tap runs (`packets: true` was asked for and the stream is H.264 or HEVC).
  pub packets: bool,
  /// The stream's parameter sets in Annex B (VPS first for HEVC, then SPS,
  /// PPS), what a muxer needs before the first keyframe; null when the tap
  /// does not run or the stream has not sent them yet.
  #[napi(ts_type = "Buffer | null")]
  pub codec_config: NullableBytes,
}

/// What one readInto() delivered.
#[napi(object)]
pub struct FrameInfo {
  /// CLOCK_MONOTONIC ns when the frame's packet was received (after pacing, for paced files).
  pub capture_ts_ns: BigInt,
  /// CLOCK_MONOTONIC ns when the decoder produced the frame.
  pub decode_ts_ns: BigInt,
  /// This source's frame counter: 1 for the first frame delivered, +1 per frame
  /// (frames skipped by fpsCap or lost to decode errors are not numbered).
  pub seq: BigInt,
  /// Presentation time in microseconds (keeps increasing across file loops); null when the stream has none.
  pub pts_us: Option<f64>,
  pub keyframe: bool,
  /// The decoder concealed damage in this frame (only delivered with `dropCorrupt: false`).
  pub corrupt: bool,
  /// The stream changed size or pixel format: NOTHING was written by this
  /// call. Re-read `source.info` (layout, byteLength), bump the ring epoch,
  /// and call readInto() again to get this frame in the new layout.
  pub reconfigured: bool,
  /// Frames lost to damage since the previous call: frames the decoder
  /// failed on or swallowed without a word (a slice header it could not
  /// parse), plus frames with concealed damage (dropped unless
  /// `dropCorrupt: false`). Each lost frame counts once. Frames that never
  /// reached the decoder at all (a whole frame lost on UDP) are not seen
  /// here, nor is a frame swallowed just before END_OF_STREAM.
  pub decode_errors: u32,
  /// Frames decoded but skipped to honour fpsCap, since the previous call.
  pub rate_limited: u32,
}

fn build_config(spec: &SourceSpec, options: Option<OpenOptions>) -> HeartResult<OpenConfig> {
  let source = spec::check(spec)?;
  let o = options.unwrap_or_default();
  let out = o.output.clone();
  let pix_fmt = match out.as_ref().and_then(|x| x.pix_fmt.as_deref()) {
    Some(name) => PixFmt::parse(name)?,
    None => PixFmt::Yuv420p,
  };
  let size_ok = |v: Option<u32>, what: &str| -> HeartResult<Option<u32>> {
    match v {
      Some(n) if !(2..=16384).contains(&n) => {
        Err(HeartError::invalid(format!("{what} must be from 2 to 16384, got {n}")))
      }
      other => Ok(other),
    }
  };
  let out_width = size_ok(out.as_ref().and_then(|x| x.width), "output.width")?;
  let out_height = size_ok(out.as_ref().and_then(|x| x.height), "output.height")?;
  let crop = match out.as_ref().and_then(|x| x.crop.clone()) {
    Some(c) => {
      if c.width == 0 || c.height == 0 || [c.x, c.y, c.width, c.height].iter().any(|v| v % 2 != 0) {
        return Err(HeartError::invalid(format!(
          "output.crop {}x{} at {},{}: use non-zero, even numbers (4:2:0 chroma covers 2x2 pixels)",
          c.width, c.height, c.x, c.y
        )));
      }
      Some(c)
    }
    None => None,
  };
  if let Some(cap) = o.fps_cap {
    if !(cap > 0.0 && cap <= 1000.0) {
      return Err(HeartError::invalid(format!("fpsCap must be above 0 and at most 1000, got {cap}")));
    }
  }
  let timeout_ms = o.timeout_ms.unwrap_or(10_000);
  if !(1..=600_000).contains(&timeout_ms) {
    return Err(HeartError::invalid(format!("timeoutMs must be from 1 to 600000, got {timeout_ms}")));
  }
  Ok(OpenConfig {
    decode: DecodeSettings {
      backend: DecoderPref::parse(o.decoder.as_deref().unwrap_or("auto"))?,
      threads: o.threads.unwrap_or(0).min(64),
      low_latency: o.low_latency.unwrap_or(source.is_live()),
      drop_corrupt: o.drop_corrupt.unwrap_or(true),
    },
    output: OutputSpec { pix_fmt, width: out_width, height: out_height, crop },
    expect: Expectations {
      max_width: o.max_width,
      max_height: o.max_height,
      codec: o.expect_codec.as_deref().map(normalize_codec),
    },
    fps_cap: o.fps_cap,
    timeout_ms,
    packets: o.packets.unwrap_or(false),
    source,
  })
}

fn output_info(p: &Pipeline) -> OutputInfo {
  let layout = p.layout.clone().expect("open negotiates a layout");
  OutputInfo {
    url: p.facts_url(),
    codec: p.facts.codec.clone(),
    width: layout.width,
    height: layout.height,
    pix_fmt: layout.pix_fmt.name().to_string(),
    planes: layout.planes.clone(),
    byte_length: layout.byte_length as u32,
    backend: p.facts.backend.clone(),
    fallback_reason: p.facts.fallback_reason.clone(),
    source_width: p.facts.width,
    source_height: p.facts.height,
    source_pix_fmt: p.facts.pix_fmt.clone(),
    fps: p.facts.fps,
    packets: p.packet_tap().is_some(),
    codec_config: NullableBytes(p.codec_config()),
  }
}

struct Shared {
  pipeline: Mutex<Option<Pipeline>>,
  flags: Arc<AbortFlags>,
  closed: AtomicBool,
  info: Mutex<OutputInfo>,
  /// The compressed packets, behind their own lock (never the pipeline's).
  packets: Option<Arc<PacketTap>>,
}

impl Shared {
  fn close(&self) {
    self.flags.abort();
    self.mark_closed();
  }

  /// Closed for good: a closed source's packets are dropped with it.
  fn mark_closed(&self) {
    self.closed.store(true, Ordering::SeqCst);
    if let Some(tap) = &self.packets {
      tap.close();
    }
  }
}

/// An open camera / file / test source. Create with `Source.open()`.
#[napi]
pub struct Source {
  shared: Arc<Shared>,
}

pub struct OpenTask {
  /// Bad options reject the promise (like every other failure) instead of throwing.
  config: Option<HeartResult<OpenConfig>>,
  flags: Arc<AbortFlags>,
  hook: Option<SignalHook>,
  failure: Option<HeartError>,
}

fn fail(slot: &mut Option<HeartError>, e: HeartError) -> napi::Error {
  let generic = napi::Error::new(napi::Status::GenericFailure, e.to_string());
  *slot = Some(e);
  generic
}

impl OpenTask {
  fn open(&mut self) -> napi::Result<Pipeline> {
    let opened = match self.config.take().expect("compute runs once") {
      Ok(cfg) => Pipeline::open(cfg, self.flags.clone()),
      Err(e) => Err(e),
    };
    opened.map_err(|e| fail(&mut self.failure, e))
  }
  fn rejected(&mut self, env: &Env, err: napi::Error) -> napi::Error {
    match self.failure.take() {
      Some(f) => f.to_js_error(env),
      None => err,
    }
  }
}

impl Task for OpenTask {
  type Output = Pipeline;
  type JsValue = Source;

  fn compute(&mut self) -> napi::Result<Pipeline> {
    self.open()
  }

  fn resolve(&mut self, _env: Env, pipeline: Pipeline) -> napi::Result<Source> {
    let info = output_info(&pipeline);
    let packets = pipeline.packet_tap();
    Ok(Source {
      shared: Arc::new(Shared {
        pipeline: Mutex::new(Some(pipeline)),
        flags: self.flags.clone(),
        closed: AtomicBool::new(false),
        info: Mutex::new(info),
        packets,
      }),
    })
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<Source> {
    Err(self.rejected(&env, err))
  }

  fn finally(self, env: Env) -> napi::Result<()> {
    if let Some(h) = self.hook {
      h.detach(&env);
    }
    Ok(())
  }
}

pub struct ProbeTask(OpenTask);

impl Task for ProbeTask {
  type Output = SourceInfo;
  type JsValue = SourceInfo;

  fn compute(&mut self) -> napi::Result<SourceInfo> {
    let p = self.0.open()?;
    let info = p.facts.clone();
    // Close here, off the JS thread (an RTSP teardown talks to the camera).
    drop(p);
    Ok(info)
  }

  fn resolve(&mut self, _env: Env, info: SourceInfo) -> napi::Result<SourceInfo> {
    Ok(info)
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<SourceInfo> {
    Err(self.0.rejected(&env, err))
  }

  fn finally(self, env: Env) -> napi::Result<()> {
    self.0.finally(env)
  }
}

fn open_task(env: &Env, spec: SourceSpec, options: Option<OpenOptions>, signal: Option<Unknown>) -> OpenTask {
  let config = build_config(&spec, options);
  let flags = Arc::new(AbortFlags::default());
  let hook = SignalHook::attach(env, signal.map(|s| s.raw()), &flags);
  OpenTask { config: Some(config), flags, hook, failure: None }
}

/// Opens `spec` just long enough to learn what it sends (codec, size, rate,
/// pixel format) and which decoder backend would decode it, decoding one
/// frame to be sure, then closes it. Rejects with the same codes as
/// Source.open().
#[napi(
  ts_args_type = "spec: SourceSpec, options?: OpenOptions | null, signal?: AbortSignal | null",
  ts_return_type = "Promise<SourceInfo>"
)]
pub fn probe(
  env: Env,
  spec: SourceSpec,
  options: Option<OpenOptions>,
  signal: Option<Unknown>,
) -> AsyncTask<ProbeTask> {
  AsyncTask::new(ProbeTask(open_task(&env, spec, options, signal)))
}

pub struct ReadTask {
  shared: Arc<Shared>,
  dst: ByteView,
  hook: Option<SignalHook>,
  failure: Option<HeartError>,
  /// The signal was already aborted when readInto() was called.
  pre_aborted: bool,
}

impl ReadTask {
  fn read(&mut self) -> HeartResult<FrameStamp> {
    let closed_error = || HeartError::new(ErrorCode::Closed, "the source is closed; open it again");
    if self.pre_aborted {
      if let Ok(mut guard) = self.shared.pipeline.try_lock() {
        *guard = None;
      }
      return Err(HeartError::new(ErrorCode::Aborted, "readInto() was given an aborted signal; the source is closed"));
    }
    if self.shared.closed.load(Ordering::SeqCst) {
      return Err(closed_error());
    }
    let mut guard = match self.shared.pipeline.try_lock() {
      Ok(g) => g,
      Err(TryLockError::WouldBlock) => {
        return Err(HeartError::new(
          ErrorCode::Busy,
          "readInto() was called again before the previous call finished; await each call",
        ))
      }
      Err(TryLockError::Poisoned(p)) => p.into_inner(),
    };
    let Some(pipeline) = guard.as_mut() else { return Err(closed_error()) };
    let result = pipeline.read_into(self.dst.ptr, self.dst.len);
    if let Ok(stamp) = &result {
      if stamp.reconfigured {
        *self.shared.info.lock().unwrap_or_else(|p| p.into_inner()) = output_info(pipeline);
      }
    }
    // An abort (close() or the signal) ends the source: a half-read stream
    // cannot be resumed. Free FFmpeg's state here, off the JS thread.
    if self.shared.flags.is_aborted() {
      self.shared.mark_closed();
      *guard = None;
      if result.is_ok() {
        return Err(HeartError::new(ErrorCode::Aborted, "the source was closed during readInto()"));
      }
    }
    result
  }
}

impl Task for ReadTask {
  type Output = FrameStamp;
  type JsValue = FrameInfo;

  fn compute(&mut self) -> napi::Result<FrameStamp> {
    self.read().map_err(|e| fail(&mut self.failure, e))
  }

  fn resolve(&mut self, _env: Env, s: FrameStamp) -> napi::Result<FrameInfo> {
    Ok(FrameInfo {
      capture_ts_ns: BigInt::from(s.capture_ts_ns),
      decode_ts_ns: BigInt::from(s.decode_ts_ns),
      seq: BigInt::from(s.seq),
      pts_us: s.pts_us,
      keyframe: s.keyframe,
      corrupt: s.corrupt,
      reconfigured: s.reconfigured,
      decode_errors: s.decode_errors,
      rate_limited: s.rate_limited,
    })
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<FrameInfo> {
    Err(match self.failure.take() {
      Some(f) => f.to_js_error(&env),
      None => err,
    })
  }

  fn finally(mut self, env: Env) -> napi::Result<()> {
    if let Some(h) = self.hook.take() {
      h.detach(&env);
    }
    self.dst.release(&env);
    Ok(())
  }
}

#[napi]
impl Source {
  /// Opens a source (rtsp, rtsps, file, v4l2, testsrc), finds its video
  /// stream, opens the decoder (hardware if asked and available, otherwise
  /// software with `info.fallbackReason` saying why) and decodes the first
  /// frame so `info` describes real frames. Rejects with err.code
  /// CONNECT_REFUSED, CONNECT_FAILED, AUTH_FAILED, STREAM_NOT_FOUND,
  /// UNSUPPORTED_CODEC, FORMAT_MISMATCH, TIMEOUT, ABORTED, INVALID_ARGUMENT, ...
  /// Aborting `signal` interrupts the open within a second.
  #[napi(
    ts_args_type = "spec: SourceSpec, options?: OpenOptions | null, signal?: AbortSignal | null",
    ts_return_type = "Promise<Source>"
  )]
  pub fn open(
    env: Env,
    spec: SourceSpec,
    options: Option<OpenOptions>,
    signal: Option<Unknown>,
  ) -> AsyncTask<OpenTask> {
    AsyncTask::new(open_task(&env, spec, options, signal))
  }

  /// The negotiated output (layout, backend, source facts). Changes only when
  /// readInto() resolves with `reconfigured: true`.
  #[napi(getter)]
  pub fn info(&self) -> OutputInfo {
    self.shared.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
  }

  /// True after close() (or after an aborted read closed it).
  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.shared.closed.load(Ordering::SeqCst)
  }

  /// Reads and decodes the next frame on a libuv pool thread and writes it,
  /// converted / cropped / scaled to `info`'s layout, straight into `dst`
  /// (one copy: decoder -> dst). `dst` is typically a ring slot's Uint8Array
  /// over a SharedArrayBuffer; it must have at least `info.byteLength` bytes
  /// (else BUFFER_TOO_SMALL, nothing written) and must not be transferred
  /// while the call runs. One call at a time per source (else BUSY).
  /// Rejects with TIMEOUT (no data for timeoutMs), END_OF_STREAM,
  /// DECODE_ERROR (only when hundreds of frames in a row fail; single bad
  /// frames are dropped and counted in `decodeErrors`), CLOSED, ABORTED.
  /// Aborting `signal` closes the source (a half-read stream cannot resume).
  #[napi(ts_args_type = "dst: Uint8Array, signal?: AbortSignal | null", ts_return_type = "Promise<FrameInfo>")]
  pub fn read_into(&self, env: Env, dst: ByteView, signal: Option<Unknown>) -> AsyncTask<ReadTask> {
    let was_closed = self.closed();
    let hook = SignalHook::attach(&env, signal.map(|s| s.raw()), &self.shared.flags);
    let pre_aborted = !was_closed && self.shared.flags.is_aborted();
    if pre_aborted {
      self.shared.close();
    }
    AsyncTask::new(ReadTask { shared: self.shared.clone(), dst, hook, failure: None, pre_aborted })
  }

  /// Moves queued compressed packets (oldest first) into `dst` as records,
  /// little-endian: u32 payloadBytes, u32 flags (bit 0 keyframe), f64 ptsUs
  /// (NaN when none), f64 dtsUs (NaN when none), f64 durationUs (0 when
  /// unknown), u64 captureTsNs (the receipt stamp the frame decoded from
  /// this packet gets in FrameInfo), that is PACKET_RECORD_HEADER_BYTES,
  /// then the Annex B payload, then zero padding to a multiple of 8.
  /// Timestamps are on FrameInfo.ptsUs's timeline. Synchronous, and fine
  /// while a readInto() runs. Without the tap (see `info.packets`) or after
  /// close() it returns an empty batch.
  #[napi(ts_args_type = "dst: Uint8Array")]
  pub fn take_packets(&self, env: Env, mut dst: ByteView) -> PacketBatch {
    let batch = match &self.shared.packets {
      Some(tap) => tap.take_into(dst.ptr, dst.len),
      None => PacketBatch { count: 0, bytes: 0, overflowed: 0, pending: 0, need_bytes: 0 },
    };
    dst.release(&env);
    batch
  }

  /// Stops the source: interrupts a pending readInto() (it rejects with
  /// ABORTED within a second, even when the camera hangs) and frees the
  /// decoder and connection. Safe to call more than once.
  #[napi]
  pub fn close(&self) {
    self.shared.close();
    if let Ok(mut guard) = self.shared.pipeline.try_lock() {
      if let Some(pipeline) = guard.take() {
        // Closing an RTSP session talks to the camera: keep that off the JS thread.
        // Named, to be told apart from FFmpeg's and Node's threads; should no thread be made, the pipeline is freed here.
        let spawned = std::thread::Builder::new().name(CLOSE_THREAD_NAME.into()).spawn(move || drop(pipeline));
        drop(spawned);
      }
    }
    // Otherwise a read is running: it sees the abort, returns, and frees the pipeline itself.
  }
}

impl Drop for Source {
  fn drop(&mut self) {
    // Garbage-collected without close(): stop any running read promptly.
    self.shared.close();
  }
}
