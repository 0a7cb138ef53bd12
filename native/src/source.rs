//! The JS face of the capture pipeline: `probe()`, `Source.open()`,
//! `source.readInto()`, `source.close()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{BigInt, Object, ToNapiValue, Unknown};
use napi::{Env, JsDeferred, JsValue};
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
use crate::threads::{source_thread_name, start_thread, PROBE_THREAD_NAME};

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

/// What the JS thread and the source's own thread both see.
struct Shared {
  flags: Arc<AbortFlags>,
  closed: AtomicBool,
  info: Mutex<OutputInfo>,
  /// The compressed packets, behind their own lock (never the pipeline's).
  packets: Option<Arc<PacketTap>>,
  /// A readInto() was handed to the source's thread and has not finished.
  reading: AtomicBool,
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

/// How a promise is settled on the JS thread once the crate's thread is done.
type Settle<T> = Box<dyn FnOnce(Env) -> napi::Result<T> + Send>;
type Deferred<T> = JsDeferred<T, Settle<T>>;

/// Settles `deferred` from any thread. On the JS thread it first releases what
/// the call held there (`cleanup`: the signal listener, the destination's
/// reference), then resolves with `convert(value)` or rejects with an Error
/// carrying the HeartError's code.
fn settle<T, U>(
  deferred: Deferred<T>,
  result: HeartResult<U>,
  cleanup: impl FnOnce(&Env) + Send + 'static,
  convert: impl FnOnce(U) -> T + Send + 'static,
) where
  T: ToNapiValue + 'static,
  U: Send + 'static,
{
  deferred.resolve(Box::new(move |env| {
    cleanup(&env);
    result.map(convert).map_err(|e| e.to_js_error(&env))
  }))
}

fn detach(hook: Option<SignalHook>) -> impl FnOnce(&Env) + Send + 'static {
  move |env| {
    if let Some(h) = hook {
      h.detach(env)
    }
  }
}

/// An open() or probe() on its way to the crate's thread. Bad options reject
/// the promise there (like every other failure) instead of throwing here.
struct OpenJob<T: ToNapiValue + Send + 'static> {
  config: HeartResult<OpenConfig>,
  flags: Arc<AbortFlags>,
  hook: Option<SignalHook>,
  deferred: Deferred<T>,
}

impl<T: ToNapiValue + Send + 'static> OpenJob<T> {
  fn new<'e>(
    env: &'e Env,
    spec: SourceSpec,
    options: Option<OpenOptions>,
    signal: Option<Unknown>,
  ) -> napi::Result<(Self, Object<'e>)> {
    let (deferred, promise) = env.create_deferred::<T, Settle<T>>()?;
    let config = build_config(&spec, options);
    let flags = Arc::new(AbortFlags::default());
    let hook = SignalHook::attach(env, signal.map(|s| s.raw()), &flags);
    Ok((OpenJob { config, flags, hook, deferred }, promise))
  }

  /// No thread could be started for the job.
  fn refuse(self, e: std::io::Error) {
    let failure = HeartError::new(ErrorCode::Internal, format!("cannot start a thread to open the source: {e}"));
    settle(self.deferred, Err::<T, _>(failure), detach(self.hook), |v| v);
  }
}

/// probe()'s thread: open, keep the facts, close (an RTSP teardown talks to
/// the camera, so that too stays off the JS thread), settle, end.
fn probe_on_own_thread(job: OpenJob<SourceInfo>) {
  let OpenJob { config, flags, hook, deferred } = job;
  let facts = config.and_then(|cfg| Pipeline::open(cfg, flags)).map(|pipeline| pipeline.facts.clone());
  settle(deferred, facts, detach(hook), |facts| facts);
}

/// Source.open()'s job: the source's thread keeps `inbox` for its reads; the
/// sending end goes to the Source once it exists on the JS thread.
struct SourceJob {
  open: OpenJob<Source>,
  requests: Sender<ReadRequest>,
  inbox: Receiver<ReadRequest>,
}

/// One open source's thread (`heart-src-N`): opens the pipeline, resolves
/// Source.open(), then serves readInto() calls one at a time until close()
/// (or the Source being collected) drops the sending end, and frees the
/// pipeline here, off the JS thread.
fn serve_source(job: SourceJob) {
  let SourceJob { open: OpenJob { config, flags, hook, deferred }, requests, inbox } = job;
  let opened = config.and_then(|cfg| Pipeline::open(cfg, flags.clone()));
  let pipeline = match opened {
    Ok(p) => p,
    Err(e) => {
      settle(deferred, Err::<Source, _>(e), detach(hook), |v| v);
      return;
    }
  };
  let shared = Arc::new(Shared {
    flags,
    closed: AtomicBool::new(false),
    info: Mutex::new(output_info(&pipeline)),
    packets: pipeline.packet_tap(),
    reading: AtomicBool::new(false),
  });
  // Should the promise never settle (the JS environment torn down first), the
  // sender is dropped with it and the loop below ends at once.
  let handed = (shared.clone(), requests);
  settle(deferred, Ok(handed), detach(hook), |(shared, requests)| Source {
    shared,
    requests: Mutex::new(Some(requests)),
  });
  let mut pipeline = Some(pipeline);
  for request in inbox {
    let result = read_once(&shared, &mut pipeline, &request.dst);
    shared.reading.store(false, Ordering::SeqCst);
    request.answer(result);
  }
}

fn closed_error() -> HeartError {
  HeartError::new(ErrorCode::Closed, "the source is closed; open it again")
}

/// One readInto(), on the source's thread.
fn read_once(shared: &Shared, slot: &mut Option<Pipeline>, dst: &ByteView) -> HeartResult<FrameStamp> {
  if shared.closed.load(Ordering::SeqCst) {
    return Err(closed_error());
  }
  let Some(pipeline) = slot.as_mut() else { return Err(closed_error()) };
  let result = pipeline.read_into(dst.ptr, dst.len);
  if let Ok(stamp) = &result {
    if stamp.reconfigured {
      *shared.info.lock().unwrap_or_else(|p| p.into_inner()) = output_info(pipeline);
    }
  }
  // An abort (close() or the signal) ends the source: a half-read stream
  // cannot be resumed. Free FFmpeg's state here, off the JS thread.
  if shared.flags.is_aborted() {
    shared.mark_closed();
    *slot = None;
    if result.is_ok() {
      return Err(HeartError::new(ErrorCode::Aborted, "the source was closed during readInto()"));
    }
  }
  result
}

/// A readInto() call: where to write, its signal's listener, its promise.
struct ReadRequest {
  dst: ByteView,
  hook: Option<SignalHook>,
  deferred: Deferred<FrameInfo>,
}

impl ReadRequest {
  fn answer(self, result: HeartResult<FrameStamp>) {
    let ReadRequest { mut dst, hook, deferred } = self;
    let release = move |env: &Env| {
      detach(hook)(env);
      dst.release(env);
    };
    settle(deferred, result, release, frame_info);
  }
}

fn frame_info(s: FrameStamp) -> FrameInfo {
  FrameInfo {
    capture_ts_ns: BigInt::from(s.capture_ts_ns),
    decode_ts_ns: BigInt::from(s.decode_ts_ns),
    seq: BigInt::from(s.seq),
    pts_us: s.pts_us,
    keyframe: s.keyframe,
    corrupt: s.corrupt,
    reconfigured: s.reconfigured,
    decode_errors: s.decode_errors,
    rate_limited: s.rate_limited,
  }
}

/// Opens `spec` just long enough to learn what it sends (codec, size, rate,
/// pixel format) and which decoder backend would decode it, decoding one
/// frame to be sure, then closes it, all on a short-lived thread of its own
/// (`heart-probe`), never the libuv pool. Rejects with the same codes as
/// Source.open().
#[napi(
  ts_args_type = "spec: SourceSpec, options?: OpenOptions | null, signal?: AbortSignal | null",
  ts_return_type = "Promise<SourceInfo>"
)]
pub fn probe<'e>(
  env: &'e Env,
  spec: SourceSpec,
  options: Option<OpenOptions>,
  signal: Option<Unknown>,
) -> napi::Result<Object<'e>> {
  let (job, promise) = OpenJob::<SourceInfo>::new(env, spec, options, signal)?;
  if let Err((job, e)) = start_thread(PROBE_THREAD_NAME.into(), job, probe_on_own_thread) {
    job.refuse(e);
  }
  Ok(promise)
}

/// An open camera / file / test source. Create with `Source.open()`.
#[napi]
pub struct Source {
  shared: Arc<Shared>,
  /// To the source's thread; taken (ending that thread) by close().
  requests: Mutex<Option<Sender<ReadRequest>>>,
}

#[napi]
impl Source {
  /// Opens a source (rtsp, rtsps, file, v4l2, testsrc), finds its video
  /// stream, opens the decoder (hardware if asked and available, otherwise
  /// software with `info.fallbackReason` saying why) and decodes the first
  /// frame so `info` describes real frames. The source gets a thread of its
  /// own (`heart-src-N`) that opens it and then serves its reads; the libuv
  /// pool is left to Node. Rejects with err.code CONNECT_REFUSED,
  /// CONNECT_FAILED, AUTH_FAILED, STREAM_NOT_FOUND, UNSUPPORTED_CODEC,
  /// FORMAT_MISMATCH, TIMEOUT, ABORTED, INVALID_ARGUMENT, ...
  /// Aborting `signal` interrupts the open within a second.
  #[napi(
    ts_args_type = "spec: SourceSpec, options?: OpenOptions | null, signal?: AbortSignal | null",
    ts_return_type = "Promise<Source>"
  )]
  pub fn open<'e>(
    env: &'e Env,
    spec: SourceSpec,
    options: Option<OpenOptions>,
    signal: Option<Unknown>,
  ) -> napi::Result<Object<'e>> {
    let (open, promise) = OpenJob::<Source>::new(env, spec, options, signal)?;
    let (requests, inbox) = mpsc::channel();
    if let Err((job, e)) = start_thread(source_thread_name(), SourceJob { open, requests, inbox }, serve_source) {
      job.open.refuse(e);
    }
    Ok(promise)
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

  /// Reads and decodes the next frame on the source's own thread and writes
  /// it, converted / cropped / scaled to `info`'s layout, straight into `dst`
  /// (one copy: decoder -> dst). `dst` is typically a ring slot's Uint8Array
  /// over a SharedArrayBuffer; it must have at least `info.byteLength` bytes
  /// (else BUFFER_TOO_SMALL, nothing written) and must not be transferred
  /// while the call runs. One call at a time per source (else BUSY).
  /// Rejects with TIMEOUT (no data for timeoutMs), END_OF_STREAM,
  /// DECODE_ERROR (only when hundreds of frames in a row fail; single bad
  /// frames are dropped and counted in `decodeErrors`), CLOSED, ABORTED.
  /// Aborting `signal` closes the source (a half-read stream cannot resume).
  #[napi(ts_args_type = "dst: Uint8Array, signal?: AbortSignal | null", ts_return_type = "Promise<FrameInfo>")]
  pub fn read_into<'e>(&self, env: &'e Env, mut dst: ByteView, signal: Option<Unknown>) -> napi::Result<Object<'e>> {
    let (deferred, promise) = match env.create_deferred::<FrameInfo, Settle<FrameInfo>>() {
      Ok(created) => created,
      Err(e) => {
        dst.release(env);
        return Err(e);
      }
    };
    let was_closed = self.closed();
    let hook = SignalHook::attach(env, signal.map(|s| s.raw()), &self.shared.flags);
    let request = ReadRequest { dst, hook, deferred };
    if !was_closed && self.shared.flags.is_aborted() {
      self.close();
      request.answer(Err(HeartError::new(
        ErrorCode::Aborted,
        "readInto() was given an aborted signal; the source is closed",
      )));
    } else if was_closed {
      request.answer(Err(closed_error()));
    } else if self.shared.reading.swap(true, Ordering::SeqCst) {
      request.answer(Err(HeartError::new(
        ErrorCode::Busy,
        "readInto() was called again before the previous call finished; await each call",
      )));
    } else {
      let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
      let sent = match requests.as_ref() {
        Some(to_thread) => to_thread.send(request).map_err(|unsent| unsent.0),
        None => Err(request),
      };
      if let Err(request) = sent {
        self.shared.reading.store(false, Ordering::SeqCst);
        request.answer(Err(closed_error()));
      }
    }
    Ok(promise)
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
  /// decoder and connection on the source's thread, which then ends. Safe to
  /// call more than once.
  #[napi]
  pub fn close(&self) {
    self.shared.close();
    // Dropping the sender ends the source's thread once any running read has
    // seen the abort; the thread frees the pipeline (an RTSP teardown talks to
    // the camera) and is left to finish on its own rather than joined here.
    drop(self.requests.lock().unwrap_or_else(|p| p.into_inner()).take());
  }
}

impl Drop for Source {
  fn drop(&mut self) {
    // Garbage-collected without close(): stop any running read promptly and let the thread end.
    self.close();
  }
}
