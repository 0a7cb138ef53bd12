//! The capture pipeline: input (demux with FFmpeg's avformat), decoder
//! (threads, optional hardware), losses (decode-error accounting) and convert
//! (crop / scale / pixel format straight into the caller's buffer: one copy).
//! Init and abort live in crate::init.
//!
//! Everything here runs on a libuv pool thread, one call at a time per
//! source (the owner holds it in a Mutex). FFmpeg objects are owned raw
//! pointers freed in Drop.

mod convert;
mod decoder;
mod input;
mod losses;
mod packets;

use std::collections::VecDeque;
use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr;
use std::sync::Arc;

use napi_derive::napi;

use crate::error::{ErrorCode, HeartError, HeartResult};
use crate::ffi;
use crate::init::{ffmpeg_init, AbortFlags};
use crate::layout::{Layout, PixFmt};
use crate::spec::OpenSource;

pub use decoder::DecoderPref;
use decoder::HwState;
use packets::PacketPath;
pub use packets::{PacketBatch, PacketTap, PACKET_RECORD_HEADER_BYTES};

/// A rectangle of the source picture, in source pixels. Use even numbers
/// (4:2:0 chroma covers 2x2 pixels).
#[napi(object)]
#[derive(Clone, Debug)]
pub struct CropRect {
  pub x: u32,
  pub y: u32,
  pub width: u32,
  pub height: u32,
}

/// Everything Source.open / probe need: the checked source spec and the
/// open options, checked and grouped by the stage that reads them.
#[derive(Clone, Debug)]
pub struct OpenConfig {
  pub source: OpenSource,
  pub decode: DecodeSettings,
  pub output: OutputSpec,
  pub expect: Expectations,
  pub fps_cap: Option<f64>,
  pub timeout_ms: u32,
  /// Copy the compressed packets into a tap (packets.rs).
  pub packets: bool,
}

/// How the decoder stage decodes (decoder.rs).
#[derive(Clone, Debug)]
pub struct DecodeSettings {
  pub backend: DecoderPref,
  pub threads: u32,
  pub low_latency: bool,
  pub drop_corrupt: bool,
}

/// The frames the convert stage writes (convert.rs): format, crop, size.
#[derive(Clone, Debug)]
pub struct OutputSpec {
  pub pix_fmt: PixFmt,
  pub width: Option<u32>,
  pub height: Option<u32>,
  pub crop: Option<CropRect>,
}

/// What the input stage refuses with FORMAT_MISMATCH (input.rs).
#[derive(Clone, Debug)]
pub struct Expectations {
  pub max_width: Option<u32>,
  pub max_height: Option<u32>,
  pub codec: Option<String>,
}

/// What open learns about the source before delivering frames; probe()
/// returns it as it is.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct SourceInfo {
  /// The URL with credentials replaced by ***.
  pub url: String,
  /// FFmpeg's codec name: 'h264', 'hevc', 'mjpeg', 'rawvideo', ...
  pub codec: String,
  pub width: u32,
  pub height: u32,
  /// Frames per second the stream announces (0 when it does not say).
  pub fps: f64,
  /// The decoded frames' pixel format, as FFmpeg names it (e.g. 'yuv420p', 'yuvj422p').
  pub pix_fmt: String,
  /// The decoder backend that would be used: 'software', 'vaapi', 'cuda' or 'v4l2m2m'.
  pub backend: String,
  /// Why a hardware backend is not used, when one was asked for or tried.
  pub fallback_reason: Option<String>,
  /// Files: duration in milliseconds.
  pub duration_ms: Option<f64>,
  /// Bits per second, when the container says.
  pub bit_rate: Option<f64>,
}

/// Per-frame facts readInto returns.
#[derive(Clone, Debug, Default)]
pub struct FrameStamp {
  pub capture_ts_ns: u64,
  pub decode_ts_ns: u64,
  pub seq: u64,
  pub pts_us: Option<f64>,
  pub keyframe: bool,
  pub corrupt: bool,
  pub reconfigured: bool,
  pub decode_errors: u32,
  pub rate_limited: u32,
}

pub fn pix_fmt_name(fmt: c_int) -> String {
  // SAFETY: av_get_pix_fmt_name returns a static string or NULL.
  unsafe {
    let p = ffi::av_get_pix_fmt_name(fmt);
    if p.is_null() {
      "unknown".into()
    } else {
      CStr::from_ptr(p).to_string_lossy().into_owned()
    }
  }
}

pub struct Pipeline {
  flags: Arc<AbortFlags>,
  cfg: OpenConfig,
  fmt: *mut ffi::AVFormatContext,
  stream_index: c_int,
  time_base: ffi::AVRational,
  dec: *mut ffi::AVCodecContext,
  hw: Option<Box<HwState>>,
  hw_device: *mut ffi::AVBufferRef,
  pkt: *mut ffi::AVPacket,
  frame: *mut ffi::AVFrame,
  sw_frame: *mut ffi::AVFrame,
  sws: *mut ffi::SwsContext,
  pub facts: SourceInfo,
  /// The decoded source geometry the current output layout was negotiated for.
  src_geom: Option<(u32, u32, c_int)>,
  pub layout: Option<Layout>,
  /// Packet receipt times by pts, so each frame gets its own packet's stamp.
  /// An entry left behind when a later frame comes out is a frame the
  /// decoder swallowed (see `stamp_frame`).
  receipt: VecDeque<(i64, u64)>,
  /// A frame has come out since the decoder started (or was flushed): from
  /// then on a swallowed packet is a lost frame, not the wait for a keyframe.
  decoder_primed: bool,
  /// The last frame was progressive: one packet per frame, so leftover receipts are lost frames.
  progressive: bool,
  // Looping and pacing, in stream time-base units.
  loop_offset: i64,
  pass_start: Option<i64>,
  pass_end: i64,
  pace_base: Option<(u64, i64)>,
  eof_sent: bool,
  /// A decoded frame waiting for delivery (in `frame`/`sw_frame`): after open,
  /// after a renegotiation, or after a too-small buffer.
  held: Option<FrameStamp>,
  held_is_sw: bool,
  next_due_us: Option<f64>,
  decode_errors: u32,
  rate_limited: u32,
  seq: u64,
  /// The packet tap, when asked for and the codec has one.
  packets: Option<PacketPath>,
}

// SAFETY: the FFmpeg contexts are only used by one thread at a time (the owner wraps the Pipeline in a Mutex).
unsafe impl Send for Pipeline {}

impl Drop for Pipeline {
  fn drop(&mut self) {
    // SAFETY: each pointer is either null or owned by us; the free functions accept pointers to null.
    unsafe {
      ffi::sws_freeContext(self.sws);
      ffi::av_frame_free(&mut self.frame);
      ffi::av_frame_free(&mut self.sw_frame);
      ffi::av_packet_free(&mut self.pkt);
      ffi::avcodec_free_context(&mut self.dec);
      ffi::av_buffer_unref(&mut self.hw_device);
      if !self.fmt.is_null() {
        ffi::avformat_close_input(&mut self.fmt);
      }
    }
  }
}

fn q2d(r: ffi::AVRational) -> f64 {
  if r.den == 0 {
    0.0
  } else {
    r.num as f64 / r.den as f64
  }
}

const NOPTS: i64 = i64::MIN;

impl Pipeline {
  fn empty(cfg: OpenConfig, flags: Arc<AbortFlags>) -> Pipeline {
    let url = cfg.source.redacted.clone();
    Pipeline {
      flags,
      cfg,
      fmt: ptr::null_mut(),
      stream_index: -1,
      time_base: ffi::AVRational { num: 1, den: 90000 },
      dec: ptr::null_mut(),
      hw: None,
      hw_device: ptr::null_mut(),
      pkt: ptr::null_mut(),
      frame: ptr::null_mut(),
      sw_frame: ptr::null_mut(),
      sws: ptr::null_mut(),
      facts: SourceInfo { url: url.clone(), backend: "software".into(), ..Default::default() },
      src_geom: None,
      layout: None,
      receipt: VecDeque::with_capacity(64),
      decoder_primed: false,
      progressive: true,
      loop_offset: 0,
      pass_start: None,
      pass_end: 0,
      pace_base: None,
      eof_sent: false,
      held: None,
      held_is_sw: false,
      next_due_us: None,
      decode_errors: 0,
      rate_limited: 0,
      seq: 0,
      packets: None,
    }
  }

  /// The source as messages may name it: credentials redacted.
  fn printable(&self) -> &str {
    &self.cfg.source.redacted
  }

  /// The source URL with credentials replaced by ***.
  pub fn facts_url(&self) -> String {
    self.cfg.source.redacted.clone()
  }

  /// Connects / opens the container and finds the video stream; opens the
  /// decoder, and decodes the first frame, so the negotiated output
  /// describes real frames (not container guesses).
  pub fn open(cfg: OpenConfig, flags: Arc<AbortFlags>) -> HeartResult<Pipeline> {
    ffmpeg_init();
    let mut p = Pipeline::empty(cfg, flags);
    p.open_input()?;
    p.open_packet_path()?;
    p.open_decoder()?;
    // SAFETY: plain allocations, checked for NULL below.
    unsafe {
      p.pkt = ffi::av_packet_alloc();
      p.frame = ffi::av_frame_alloc();
      p.sw_frame = ffi::av_frame_alloc();
    }
    if p.pkt.is_null() || p.frame.is_null() || p.sw_frame.is_null() {
      return Err(HeartError::new(ErrorCode::Internal, "out of memory allocating FFmpeg frames"));
    }
    let stamp = p.decode_next()?;
    let geom = p.current_geometry();
    p.negotiate(geom)?;
    p.held = Some(stamp);
    Ok(p)
  }

  fn rate_allows(&mut self, stamp: &FrameStamp) -> bool {
    let Some(cap) = self.cfg.fps_cap else { return true };
    let interval = 1e6 / cap;
    let t = stamp.pts_us.unwrap_or(stamp.capture_ts_ns as f64 / 1e3);
    match self.next_due_us {
      // A tenth of an interval of slack absorbs timestamp jitter.
      Some(due) if t + interval * 0.1 < due => false,
      Some(due) => {
        self.next_due_us = Some(if due + interval < t { t + interval } else { due + interval });
        true
      }
      None => {
        self.next_due_us = Some(t + interval);
        true
      }
    }
  }

  /// The next frame, converted into `dst` (`len` bytes). On a geometry change
  /// nothing is written: the layout is renegotiated and the same frame is
  /// delivered by the next call.
  /// The packet queue takePackets() drains, when the tap runs.
  pub fn packet_tap(&self) -> Option<Arc<PacketTap>> {
    self.packets.as_ref().map(|p| p.tap.clone())
  }

  /// The Annex B parameter sets (VPS, SPS, PPS) when the tap runs and they are known.
  pub fn codec_config(&self) -> Option<Vec<u8>> {
    self.packets.as_ref().map(|p| p.config.clone()).filter(|c| !c.is_empty())
  }

  pub fn read_into(&mut self, dst: *mut u8, len: usize) -> HeartResult<FrameStamp> {
    loop {
      let mut stamp = match self.held.take() {
        Some(s) => s,
        None => self.decode_next()?,
      };
      if stamp.corrupt {
        // The decoder concealed damage in this frame: count it, and (by
        // default) drop it rather than hand consumers smeared pixels.
        self.decode_errors += 1;
        if self.cfg.decode.drop_corrupt {
          continue;
        }
      }
      let geom = self.current_geometry();
      if self.src_geom != Some(geom) {
        self.negotiate(geom)?;
        self.held = Some(stamp.clone());
        stamp.reconfigured = true;
        stamp.decode_errors = std::mem::take(&mut self.decode_errors);
        stamp.rate_limited = std::mem::take(&mut self.rate_limited);
        return Ok(stamp);
      }
      if !self.rate_allows(&stamp) {
        self.rate_limited += 1;
        continue;
      }
      let layout = self.layout.clone().expect("negotiated");
      if len < layout.byte_length {
        self.held = Some(stamp);
        return Err(HeartError::new(
          ErrorCode::BufferTooSmall,
          format!(
            "the destination has {len} bytes but a {}x{} {} frame needs {}: size ring slots from source.info.byteLength",
            layout.width,
            layout.height,
            layout.pix_fmt.name(),
            layout.byte_length
          ),
        ));
      }
      self.convert_into(&layout, dst)?;
      self.seq += 1;
      stamp.seq = self.seq;
      stamp.decode_errors = std::mem::take(&mut self.decode_errors);
      stamp.rate_limited = std::mem::take(&mut self.rate_limited);
      return Ok(stamp);
    }
  }
}
