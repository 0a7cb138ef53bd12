//! The capture pipeline: demux (FFmpeg's avformat, with an interrupt callback
//! so nothing blocks past an abort or a deadline), decode (threads, optional
//! hardware), and convert straight into the caller's buffer (one copy).
//!
//! Everything here runs on a libuv pool thread, one call at a time per
//! source (the owner holds it in a Mutex). FFmpeg objects are owned raw
//! pointers freed in Drop.

use std::collections::VecDeque;
use std::ffi::{c_void, CStr, CString};
use std::os::raw::c_int;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};

use crate::clock::now_ns;
use crate::error::{
  av_error_text, map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN, AVERROR_EOF, AVERROR_EXIT,
};
use crate::ffi;
use crate::layout::{frame_layout, Layout, PixFmt};
use crate::url::{parse_size, SourceKind, SourceUrl};

/// Set once per process: FFmpeg's logging off (its lines can carry URLs with
/// credentials), devices and network registered.
pub fn ffmpeg_init() {
  static INIT: Once = Once::new();
  INIT.call_once(|| {
    crate::malloc::fix_mmap_threshold();
    // SAFETY: plain global setters, called once before any other FFmpeg use.
    unsafe {
      let level = match std::env::var("HEART_FFMPEG_LOG").as_deref() {
        Ok("error") => 16,
        Ok("warning") => 24,
        Ok("info") => 32,
        Ok("debug") => 48,
        _ => ffi::AV_LOG_QUIET,
      };
      ffi::av_log_set_level(level);
      ffi::avdevice_register_all();
      ffi::avformat_network_init();
    }
  });
}

fn cstring(s: &str, what: &str) -> HeartResult<CString> {
  CString::new(s).map_err(|_| HeartError::invalid(format!("{what} contains a NUL byte")))
}

/// Shared between the owner (JS thread: close(), AbortSignal) and FFmpeg's
/// interrupt callback (pool thread).
#[derive(Default)]
pub struct AbortFlags {
  pub aborted: AtomicBool,
  /// CLOCK_MONOTONIC ns after which the current blocking step gives up; 0 = none.
  deadline_ns: AtomicU64,
}

impl AbortFlags {
  pub fn abort(&self) {
    self.aborted.store(true, Ordering::SeqCst);
  }
  pub fn is_aborted(&self) -> bool {
    self.aborted.load(Ordering::SeqCst)
  }
  fn arm(&self, timeout_ms: u32) {
    self.deadline_ns.store(now_ns() + timeout_ms as u64 * 1_000_000, Ordering::SeqCst);
  }
  /// Ends the current blocking step; says whether its deadline had passed.
  fn disarm(&self) -> bool {
    let expired = self.expired();
    self.deadline_ns.store(0, Ordering::SeqCst);
    expired
  }
  fn expired(&self) -> bool {
    let d = self.deadline_ns.load(Ordering::SeqCst);
    d != 0 && now_ns() > d
  }
  pub fn check(&self) -> HeartResult<()> {
    if self.is_aborted() {
      Err(HeartError::new(ErrorCode::Aborted, "the source was closed or the call was aborted"))
    } else {
      Ok(())
    }
  }
}

unsafe extern "C" fn interrupt_callback(opaque: *mut c_void) -> c_int {
  // SAFETY: opaque is the AbortFlags the Pipeline keeps alive (Arc) for as long as the format context.
  let flags = unsafe { &*(opaque as *const AbortFlags) };
  (flags.is_aborted() || flags.expired()) as c_int
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DecoderPref {
  Auto,
  Software,
  Vaapi,
  Cuda,
  V4l2m2m,
}

impl DecoderPref {
  pub fn parse(s: &str) -> HeartResult<DecoderPref> {
    match s {
      "auto" => Ok(DecoderPref::Auto),
      "software" => Ok(DecoderPref::Software),
      "vaapi" => Ok(DecoderPref::Vaapi),
      "cuda" => Ok(DecoderPref::Cuda),
      "v4l2m2m" => Ok(DecoderPref::V4l2m2m),
      other => Err(HeartError::invalid(format!(
        "unknown decoder '{other}'; use auto, software, vaapi, cuda or v4l2m2m"
      ))),
    }
  }
}

#[derive(Clone, Debug)]
pub struct Crop {
  pub x: u32,
  pub y: u32,
  pub width: u32,
  pub height: u32,
}

/// Everything Source.open / probe need, with URL parameters and options merged
/// (options win).
#[derive(Clone, Debug)]
pub struct OpenConfig {
  pub url: SourceUrl,
  pub decoder: DecoderPref,
  pub pix_fmt: PixFmt,
  pub out_width: Option<u32>,
  pub out_height: Option<u32>,
  pub crop: Option<Crop>,
  pub fps_cap: Option<f64>,
  pub max_width: Option<u32>,
  pub max_height: Option<u32>,
  pub expect_codec: Option<String>,
  pub timeout_ms: u32,
  pub udp: bool,
  pub loop_: bool,
  pub realtime: bool,
  pub threads: u32,
  pub low_latency: bool,
  pub drop_corrupt: bool,
}

pub fn normalize_codec(name: &str) -> String {
  match name.to_ascii_lowercase().as_str() {
    "h265" | "hevc" => "hevc".into(),
    "h264" | "avc" => "h264".into(),
    "mjpeg" | "mjpg" | "jpeg" => "mjpeg".into(),
    other => other.into(),
  }
}

/// Codecs heart decodes. Others fail at open with UNSUPPORTED_CODEC rather
/// than taking an untested path.
const SUPPORTED_CODECS: &[&str] = &["h264", "hevc", "mjpeg", "rawvideo"];

struct HwState {
  pix_fmt: ffi::AVPixelFormat,
}

unsafe extern "C" fn pick_hw_format(
  ctx: *mut ffi::AVCodecContext,
  formats: *const ffi::AVPixelFormat,
) -> ffi::AVPixelFormat {
  // SAFETY: FFmpeg passes a list terminated by AV_PIX_FMT_NONE; opaque is our HwState (Box kept by the Pipeline).
  unsafe {
    let want = (*((*ctx).opaque as *const HwState)).pix_fmt;
    let mut p = formats;
    let mut first_software = ffi::AV_PIX_FMT_NONE;
    while *p != ffi::AV_PIX_FMT_NONE {
      if *p == want {
        return want;
      }
      let desc = ffi::av_pix_fmt_desc_get(*p);
      if first_software == ffi::AV_PIX_FMT_NONE
        && !desc.is_null()
        && (*desc).flags & (ffi::AV_PIX_FMT_FLAG_HWACCEL as u64) == 0
      {
        first_software = *p;
      }
      p = p.add(1);
    }
    // The hardware refused this stream (profile, size): decode in software.
    // The pipeline notices the software frames and says so in `fallbackReason`.
    first_software
  }
}

/// What open/probe learn about the source before delivering frames.
#[derive(Clone, Debug)]
pub struct StreamFacts {
  pub codec: String,
  pub width: u32,
  pub height: u32,
  pub fps: f64,
  pub pix_fmt: String,
  pub backend: String,
  pub fallback_reason: Option<String>,
  pub duration_ms: Option<f64>,
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
  pub facts: StreamFacts,
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

/// How much of an RTSP stream avformat_find_stream_info may look at, in µs.
/// Measured on the test server (H.264 720p30, H.265, 1080p60): open to
/// first frame 1.07 s with 1 s of analysis, 0.21 s with 0.1 s, with the same
/// codec, size and rate found.
const RTSP_ANALYZE_US: &str = "100000";

impl Pipeline {
  fn empty(cfg: OpenConfig, flags: Arc<AbortFlags>) -> Pipeline {
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
      facts: StreamFacts {
        codec: String::new(),
        width: 0,
        height: 0,
        fps: 0.0,
        pix_fmt: String::new(),
        backend: "software".into(),
        fallback_reason: None,
        duration_ms: None,
        bit_rate: None,
      },
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
    }
  }

  /// The source as messages may name it: credentials redacted.
  fn printable(&self) -> &str {
    &self.cfg.url.redacted
  }

  /// The source URL with credentials replaced by ***.
  pub fn facts_url(&self) -> String {
    self.cfg.url.redacted.clone()
  }

  /// Connects / opens the container and finds the video stream; opens the
  /// decoder. With `decode_first` it also decodes the first frame, so the
  /// negotiated output describes real frames (not container guesses).
  pub fn open(cfg: OpenConfig, flags: Arc<AbortFlags>, decode_first: bool) -> HeartResult<Pipeline> {
    ffmpeg_init();
    let mut p = Pipeline::empty(cfg, flags);
    p.open_input()?;
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
    if decode_first {
      let stamp = p.decode_next()?;
      let geom = p.current_geometry();
      p.negotiate(geom)?;
      p.held = Some(stamp);
    }
    Ok(p)
  }

  fn open_input(&mut self) -> HeartResult<()> {
    let cfg = self.cfg.clone();
    let target = cfg.url.redacted.clone();
    let mut opts: *mut ffi::AVDictionary = ptr::null_mut();
    let mut input_format: *const ffi::AVInputFormat = ptr::null();
    let set = |opts: &mut *mut ffi::AVDictionary, k: &str, v: &str| {
      let (k, v) = (CString::new(k).unwrap(), CString::new(v).unwrap());
      // SAFETY: av_dict_set copies both strings.
      unsafe { ffi::av_dict_set(opts, k.as_ptr(), v.as_ptr(), 0) };
    };
    let open_path: String;
    match cfg.url.kind {
      SourceKind::Rtsp => {
        set(&mut opts, "rtsp_transport", if cfg.udp { "udp" } else { "tcp" });
        if cfg.udp {
          // A 1080p keyframe is hundreds of datagrams: give the socket room so bursts are not dropped.
          set(&mut opts, "buffer_size", "4194304");
        }
        // Socket-level timeout in µs as a second line of defence behind the interrupt callback.
        set(&mut opts, "timeout", &(cfg.timeout_ms as u64 * 1000).to_string());
        // Stream analysis: the SDP carries codec and size, H.264/H.265 SPS
        // usually the rate, and open() decodes the first frame anyway, so
        // 100 ms of stream is enough (FFmpeg's default second made every
        // open and reconnect take a second longer). The packets read during
        // the analysis stay buffered and are delivered (no `nobuffer`: that
        // flag made FFmpeg throw them away, and with them the first
        // keyframe's frames).
        set(&mut opts, "analyzeduration", RTSP_ANALYZE_US);
        open_path = cfg.url.target.clone();
      }
      SourceKind::File => open_path = cfg.url.target.clone(),
      SourceKind::V4l2 => {
        // SAFETY: static string lookups.
        input_format = unsafe { ffi::av_find_input_format(c"video4linux2".as_ptr()) };
        if input_format.is_null() {
          return Err(HeartError::invalid("this FFmpeg build has no video4linux2 input (libavdevice)"));
        }
        if let Some(f) = cfg.url.param("format") {
          let v = match f {
            "mjpeg" | "mjpg" => "mjpeg",
            "yuyv" | "yuyv422" => "yuyv422",
            "h264" => "h264",
            other => {
              return Err(HeartError::invalid(format!(
                "v4l2 format={other} is not supported; use mjpeg, yuyv or h264"
              )))
            }
          };
          set(&mut opts, "input_format", v);
        }
        if let Some(s) = cfg.url.param("size") {
          let (w, h) = parse_size(s, "size")?;
          set(&mut opts, "video_size", &format!("{w}x{h}"));
        }
        if let Some(f) = cfg.url.param("fps") {
          let fps: f64 = f.parse().map_err(|_| HeartError::invalid(format!("v4l2 fps={f} is not a number")))?;
          set(&mut opts, "framerate", &format!("{fps}"));
        }
        open_path = cfg.url.target.clone();
      }
      SourceKind::TestSrc => {
        let clip = crate::testsrc::ensure_clip(&cfg.url, &self.flags)?;
        open_path = clip.to_string_lossy().into_owned();
      }
    }
    let path = cstring(&open_path, "the source URL")?;
    // SAFETY: the context is allocated here and owned by self from now on; the
    // interrupt callback's opaque pointer stays valid because self keeps the Arc.
    let ret = unsafe {
      self.fmt = ffi::avformat_alloc_context();
      if self.fmt.is_null() {
        ffi::av_dict_free(&mut opts);
        return Err(HeartError::new(ErrorCode::Internal, "out of memory"));
      }
      (*self.fmt).interrupt_callback = ffi::AVIOInterruptCB {
        callback: Some(interrupt_callback),
        opaque: Arc::as_ptr(&self.flags) as *mut c_void,
      };
      if cfg.url.kind == SourceKind::V4l2 {
        // DQBUF on a hung camera blocks in the driver, deaf to the interrupt
        // callback; non-blocking reads let feed_packet wait where abort and
        // timeout are heard.
        (*self.fmt).flags |= ffi::AVFMT_FLAG_NONBLOCK as c_int;
      }
      self.flags.arm(cfg.timeout_ms);
      let r = ffi::avformat_open_input(&mut self.fmt, path.as_ptr(), input_format, &mut opts);
      ffi::av_dict_free(&mut opts);
      r
    };
    if ret < 0 {
      // avformat_open_input frees the context on failure.
      self.fmt = ptr::null_mut();
      let timed_out = self.flags.disarm();
      return Err(self.blocking_error(ret, "open", cfg.timeout_ms, timed_out));
    }
    // SAFETY: fmt is open; find_stream_info may block (network) under the same deadline.
    let ret = unsafe { ffi::avformat_find_stream_info(self.fmt, ptr::null_mut()) };
    let timed_out = self.flags.disarm();
    if ret < 0 {
      return Err(self.blocking_error(ret, "reading stream info from", cfg.timeout_ms, timed_out));
    }
    // SAFETY: fmt is open with stream info.
    let idx = unsafe {
      ffi::av_find_best_stream(self.fmt, ffi::AVMEDIA_TYPE_VIDEO, -1, -1, ptr::null_mut(), 0)
    };
    if idx < 0 {
      return Err(HeartError::new(
        ErrorCode::StreamNotFound,
        format!("{target} has no video stream (audio only, or nothing FFmpeg recognised)"),
      ));
    }
    self.stream_index = idx;
    // SAFETY: idx is a valid stream index of the open context.
    unsafe {
      let st = *(*self.fmt).streams.add(idx as usize);
      let par = (*st).codecpar;
      self.time_base = (*st).time_base;
      let codec_name = CStr::from_ptr(ffi::avcodec_get_name((*par).codec_id)).to_string_lossy().into_owned();
      // avg_frame_rate of a short file is frames/duration (30.5 for a 2 s 30 fps
      // clip); r_frame_rate is the nominal rate. Prefer the nominal one when they agree roughly.
      let avg = q2d((*st).avg_frame_rate);
      let nominal = q2d((*st).r_frame_rate);
      let sane = |v: f64| v > 0.0 && v < 1000.0;
      let fps = match (sane(avg), sane(nominal)) {
        (true, true) if (avg - nominal).abs() / nominal < 0.05 => nominal,
        (true, _) => avg,
        (false, true) => nominal,
        _ => 0.0,
      };
      let duration = (*self.fmt).duration;
      self.facts = StreamFacts {
        codec: codec_name,
        width: (*par).width as u32,
        height: (*par).height as u32,
        fps: if fps > 0.0 && fps < 1000.0 { fps } else { 0.0 },
        pix_fmt: pix_fmt_name((*par).format),
        backend: "software".into(),
        fallback_reason: None,
        duration_ms: if duration > 0 { Some(duration as f64 / 1000.0) } else { None },
        bit_rate: if (*par).bit_rate > 0 { Some((*par).bit_rate as f64) } else { None },
      };
    }
    self.check_expectations(self.facts.width, self.facts.height)?;
    Ok(())
  }

  /// A failed blocking call: aborted and timed out say so; anything else goes through map_error.
  fn blocking_error(&self, ret: c_int, what: &str, timeout_ms: u32, timed_out: bool) -> HeartError {
    if self.flags.is_aborted() {
      return HeartError::new(ErrorCode::Aborted, format!("{what} {} was aborted", self.printable()));
    }
    if ret == AVERROR_EXIT || timed_out {
      return HeartError::new(
        ErrorCode::Timeout,
        format!(
          "{what} {} took longer than {timeout_ms} ms: check the camera is reachable, or raise timeoutMs",
          self.printable()
        ),
      );
    }
    map_error(ret, what, self.printable())
  }

  fn check_expectations(&self, width: u32, height: u32) -> HeartResult<()> {
    let codec = normalize_codec(&self.facts.codec);
    if let Some(expected) = &self.cfg.expect_codec {
      if normalize_codec(expected) != codec {
        return Err(HeartError::new(
          ErrorCode::FormatMismatch,
          format!(
            "{} sends {codec} but the configuration expects {}: fix expectCodec or the camera's encoder setting",
            self.printable(),
            normalize_codec(expected)
          ),
        ));
      }
    }
    if !SUPPORTED_CODECS.contains(&codec.as_str()) {
      return Err(HeartError::new(
        ErrorCode::UnsupportedCodec,
        format!(
          "{} sends {codec}; heart decodes {}: set the camera to H.264 or H.265",
          self.printable(),
          SUPPORTED_CODECS.join(", ")
        ),
      ));
    }
    let (mw, mh) = (self.cfg.max_width.unwrap_or(u32::MAX), self.cfg.max_height.unwrap_or(u32::MAX));
    if width > mw || height > mh {
      return Err(HeartError::new(
        ErrorCode::FormatMismatch,
        format!(
          "{} sends {width}x{height}, beyond the configured maximum {}x{}: lower the camera's resolution or raise maxWidth/maxHeight",
          self.printable(),
          self.cfg.max_width.map_or("any".to_string(), |v| v.to_string()),
          self.cfg.max_height.map_or("any".to_string(), |v| v.to_string()),
        ),
      ));
    }
    Ok(())
  }

  fn open_decoder(&mut self) -> HeartResult<()> {
    let codec_name = normalize_codec(&self.facts.codec);
    let pref = self.cfg.decoder;
    let hw_capable = codec_name == "h264" || codec_name == "hevc";
    let mut reasons: Vec<String> = Vec::new();
    if pref != DecoderPref::Software && !hw_capable {
      if pref != DecoderPref::Auto {
        reasons.push(format!("hardware decoding is not offered for {codec_name}"));
      }
    } else if pref != DecoderPref::Software {
      let order: Vec<DecoderPref> = match pref {
        DecoderPref::Auto => vec![DecoderPref::Vaapi, DecoderPref::Cuda, DecoderPref::V4l2m2m],
        p => vec![p],
      };
      for backend in order {
        match self.try_hardware(backend, &codec_name) {
          Ok(()) => {
            self.facts.fallback_reason = None;
            return Ok(());
          }
          Err(reason) => reasons.push(reason),
        }
      }
    }
    if !reasons.is_empty() {
      self.facts.fallback_reason = Some(format!("software decoding: {}", reasons.join("; ")));
    }
    self.open_software()
  }

  fn par(&self) -> *mut ffi::AVCodecParameters {
    // SAFETY: stream_index is valid once open_input succeeded.
    unsafe { (*(*(*self.fmt).streams.add(self.stream_index as usize))).codecpar }
  }

  fn configure_threads(&self, ctx: *mut ffi::AVCodecContext) {
    // SAFETY: ctx is a freshly allocated, not yet opened context.
    unsafe {
      (*ctx).thread_count = self.cfg.threads as c_int;
      if self.cfg.low_latency {
        // Frame threads hold frames back (one per thread): live sources use
        // slice threads only, so a frame leaves as soon as it is decoded.
        (*ctx).thread_type = ffi::FF_THREAD_SLICE as c_int;
        (*ctx).flags |= ffi::AV_CODEC_FLAG_LOW_DELAY as c_int;
      } else {
        (*ctx).thread_type = (ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE) as c_int;
      }
      (*ctx).pkt_timebase = self.time_base;
    }
  }

  fn open_software(&mut self) -> HeartResult<()> {
    // SAFETY: standard decoder setup; every pointer is checked.
    unsafe {
      let par = self.par();
      let codec = ffi::avcodec_find_decoder((*par).codec_id);
      if codec.is_null() {
        return Err(HeartError::new(
          ErrorCode::UnsupportedCodec,
          format!("this FFmpeg build has no decoder for {} ({})", self.facts.codec, self.printable()),
        ));
      }
      self.dec = ffi::avcodec_alloc_context3(codec);
      if self.dec.is_null() {
        return Err(HeartError::new(ErrorCode::Internal, "out of memory"));
      }
      let r = ffi::avcodec_parameters_to_context(self.dec, par);
      if r < 0 {
        return Err(map_error(r, "configuring the decoder for", self.printable()));
      }
      self.configure_threads(self.dec);
      let r = ffi::avcodec_open2(self.dec, codec, ptr::null_mut());
      if r < 0 {
        return Err(map_error(r, "opening the decoder for", self.printable()));
      }
    }
    self.facts.backend = "software".into();
    Ok(())
  }

  /// Tries one hardware backend; Err carries the reason it is not used.
  fn try_hardware(&mut self, backend: DecoderPref, codec_name: &str) -> Result<(), String> {
    let exists = |p: &str| std::path::Path::new(p).exists();
    let any_video_device = || {
      std::fs::read_dir("/dev")
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("video")))
        .unwrap_or(false)
    };
    match backend {
      DecoderPref::Vaapi if !exists("/dev/dri/renderD128") => {
        return Err("vaapi: no /dev/dri/renderD128 render node".into())
      }
      DecoderPref::Cuda if !exists("/dev/nvidia0") => return Err("cuda: no /dev/nvidia0 device".into()),
      DecoderPref::V4l2m2m if !any_video_device() => return Err("v4l2m2m: no /dev/video* device".into()),
      _ => {}
    }
    // SAFETY: decoder setup as in open_software; on any failure everything allocated here is freed.
    unsafe {
      let par = self.par();
      if backend == DecoderPref::V4l2m2m {
        let name = CString::new(format!("{codec_name}_v4l2m2m")).unwrap();
        let codec = ffi::avcodec_find_decoder_by_name(name.as_ptr());
        if codec.is_null() {
          return Err(format!("v4l2m2m: this FFmpeg build has no {codec_name}_v4l2m2m decoder"));
        }
        let mut ctx = ffi::avcodec_alloc_context3(codec);
        if ctx.is_null() || ffi::avcodec_parameters_to_context(ctx, par) < 0 {
          ffi::avcodec_free_context(&mut ctx);
          return Err("v4l2m2m: cannot configure the decoder".into());
        }
        (*ctx).pkt_timebase = self.time_base;
        let r = ffi::avcodec_open2(ctx, codec, ptr::null_mut());
        if r < 0 {
          ffi::avcodec_free_context(&mut ctx);
          return Err(format!("v4l2m2m: {}", av_error_text(r)));
        }
        self.dec = ctx;
        self.facts.backend = "v4l2m2m".into();
        return Ok(());
      }
      let (device_type, label) = match backend {
        DecoderPref::Vaapi => (ffi::AV_HWDEVICE_TYPE_VAAPI, "vaapi"),
        _ => (ffi::AV_HWDEVICE_TYPE_CUDA, "cuda"),
      };
      let codec = ffi::avcodec_find_decoder((*par).codec_id);
      if codec.is_null() {
        return Err(format!("{label}: no decoder"));
      }
      let mut hw_pix_fmt = ffi::AV_PIX_FMT_NONE;
      let mut i = 0;
      loop {
        let cfg = ffi::avcodec_get_hw_config(codec, i);
        if cfg.is_null() {
          break;
        }
        if (*cfg).methods & (ffi::AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX as c_int) != 0
          && (*cfg).device_type == device_type
        {
          hw_pix_fmt = (*cfg).pix_fmt;
          break;
        }
        i += 1;
      }
      if hw_pix_fmt == ffi::AV_PIX_FMT_NONE {
        return Err(format!("{label}: the {codec_name} decoder has no {label} support in this FFmpeg build"));
      }
      let mut device: *mut ffi::AVBufferRef = ptr::null_mut();
      let r = ffi::av_hwdevice_ctx_create(&mut device, device_type, ptr::null(), ptr::null_mut(), 0);
      if r < 0 {
        return Err(format!("{label}: cannot open the device ({})", av_error_text(r)));
      }
      let mut ctx = ffi::avcodec_alloc_context3(codec);
      if ctx.is_null() || ffi::avcodec_parameters_to_context(ctx, par) < 0 {
        ffi::avcodec_free_context(&mut ctx);
        ffi::av_buffer_unref(&mut device);
        return Err(format!("{label}: cannot configure the decoder"));
      }
      let hw = Box::new(HwState { pix_fmt: hw_pix_fmt });
      (*ctx).opaque = &*hw as *const HwState as *mut c_void;
      (*ctx).get_format = Some(pick_hw_format);
      (*ctx).hw_device_ctx = ffi::av_buffer_ref(device);
      self.configure_threads(ctx);
      // The hardware does the work; frame threads would only add delay and
      // hwaccel + frame threading has a history of driver trouble.
      (*ctx).thread_count = 1;
      let r = ffi::avcodec_open2(ctx, codec, ptr::null_mut());
      if r < 0 {
        ffi::avcodec_free_context(&mut ctx);
        ffi::av_buffer_unref(&mut device);
        return Err(format!("{label}: {}", av_error_text(r)));
      }
      self.dec = ctx;
      self.hw = Some(hw);
      self.hw_device = device;
      self.facts.backend = label.into();
      Ok(())
    }
  }

  /// Sleeps (in slices, so an abort is seen within 20 ms) until `t` in stream
  /// time has come in wall time: a file or the test source then arrives like
  /// a live camera.
  fn pace(&mut self, t: i64) -> HeartResult<()> {
    let t_ns = |ts: i64| (ts as f64 * q2d(self.time_base) * 1e9) as i64;
    let now = now_ns();
    let (base_wall, base_t) = *self.pace_base.get_or_insert((now, t));
    let target = base_wall as i64 + t_ns(t) - t_ns(base_t);
    let late_ns = now as i64 - target;
    if late_ns > 1_000_000_000 || t_ns(t) < t_ns(base_t) {
      // Far behind (the process was stopped) or time went backwards: restart the clock here.
      self.pace_base = Some((now, t));
      return Ok(());
    }
    loop {
      self.flags.check()?;
      let remaining = target - now_ns() as i64;
      if remaining <= 0 {
        return Ok(());
      }
      std::thread::sleep(std::time::Duration::from_nanos(remaining.min(20_000_000) as u64));
    }
  }

  /// Reads one packet of the video stream and sends it to the decoder (or the
  /// end-of-stream flush when the input ends).
  fn feed_packet(&mut self) -> HeartResult<()> {
    loop {
      self.flags.check()?;
      self.flags.arm(self.cfg.timeout_ms);
      let ret = loop {
        // SAFETY: fmt and pkt are valid; av_read_frame fills pkt (we unref it below).
        let r = unsafe { ffi::av_read_frame(self.fmt, self.pkt) };
        if r != AVERROR_EAGAIN {
          break r;
        }
        // A non-blocking device (V4L2) has no frame ready yet. Its driver
        // call would not watch the interrupt callback, so we wait here in
        // short steps that do.
        if self.flags.is_aborted() || self.flags.expired() {
          break AVERROR_EXIT;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
      };
      let timed_out = self.flags.disarm();
      if ret == AVERROR_EOF {
        // SAFETY: a NULL packet asks the decoder to drain.
        unsafe { ffi::avcodec_send_packet(self.dec, ptr::null()) };
        self.eof_sent = true;
        return Ok(());
      }
      if ret < 0 {
        if self.flags.is_aborted() {
          return Err(HeartError::new(ErrorCode::Aborted, format!("reading {} was aborted", self.printable())));
        }
        if ret == AVERROR_EXIT || timed_out {
          return Err(HeartError::new(
            ErrorCode::Timeout,
            format!(
              "no data from {} for {} ms: the camera stalled or the network dropped",
              self.printable(),
              self.cfg.timeout_ms
            ),
          ));
        }
        return Err(map_error(ret, "reading", self.printable()));
      }
      // SAFETY: pkt was filled by av_read_frame.
      unsafe {
        if (*self.pkt).stream_index != self.stream_index {
          ffi::av_packet_unref(self.pkt);
          continue;
        }
        let pts = (*self.pkt).pts;
        let dts = (*self.pkt).dts;
        let when = if dts != NOPTS { dts } else { pts };
        if pts != NOPTS {
          if self.pass_start.is_none() {
            self.pass_start = Some(pts);
          }
          self.pass_end = self.pass_end.max(pts + (*self.pkt).duration.max(0));
        }
        if self.cfg.realtime && when != NOPTS {
          if let Err(e) = self.pace(when + self.loop_offset) {
            ffi::av_packet_unref(self.pkt);
            return Err(e);
          }
        }
        let capture = now_ns();
        // Packets the container marks for discarding (edit-list pre-roll) decode to no frame by design.
        if (*self.pkt).flags & ffi::AV_PKT_FLAG_DISCARD as c_int == 0 {
          if self.receipt.len() >= 64 {
            self.receipt.pop_front();
          }
          self.receipt.push_back((pts, capture));
        }
        let r = ffi::avcodec_send_packet(self.dec, self.pkt);
        ffi::av_packet_unref(self.pkt);
        // An error here is a damaged frame, but not necessarily this packet's:
        // the packet is taken either way, and frame threads report an earlier
        // packet's failure on a later send. Drop it, count it, keep the stream.
        if r < 0 && r != AVERROR_EAGAIN && !self.losses_tracked() {
          self.decode_errors += 1;
        }
      }
      return Ok(());
    }
  }

  /// Back to the start of a looping file; output timestamps keep increasing.
  fn rewind(&mut self) -> HeartResult<()> {
    let start = self.pass_start.unwrap_or(0);
    // SAFETY: fmt/dec are open.
    let r = unsafe {
      ffi::avformat_seek_file(self.fmt, self.stream_index, i64::MIN, start, start, 0)
    };
    if r < 0 {
      return Err(map_error(r, "looping (seek to start of)", self.printable()));
    }
    // SAFETY: flushing an open decoder.
    unsafe { ffi::avcodec_flush_buffers(self.dec) };
    let span = (self.pass_end - start).max(1);
    self.loop_offset += span;
    self.pass_end = start;
    self.receipt.clear();
    self.decoder_primed = false;
    self.eof_sent = false;
    Ok(())
  }

  /// Decodes the next frame into `frame` (or `sw_frame` for hardware frames).
  fn decode_next(&mut self) -> HeartResult<FrameStamp> {
    let mut consecutive_errors = 0u32;
    loop {
      self.flags.check()?;
      // SAFETY: dec/frame valid; receive_frame unrefs frame before filling it.
      let ret = unsafe { ffi::avcodec_receive_frame(self.dec, self.frame) };
      if ret == 0 {
        let decode_ts = now_ns();
        return self.stamp_frame(decode_ts);
      }
      if ret == AVERROR_EAGAIN {
        if self.eof_sent {
          return Err(HeartError::new(ErrorCode::Internal, "decoder wants input after end of stream"));
        }
        self.feed_packet()?;
        continue;
      }
      if ret == AVERROR_EOF {
        // Drained: a packet still waiting for its frame will never get one.
        if self.decoder_primed && self.progressive {
          self.decode_errors += self.receipt.len() as u32;
        }
        self.receipt.clear();
        if self.cfg.loop_ && self.cfg.url.kind != SourceKind::Rtsp && self.cfg.url.kind != SourceKind::V4l2 {
          self.rewind()?;
          continue;
        }
        return Err(HeartError::new(
          ErrorCode::EndOfStream,
          format!("{} ended (set loop to replay a file)", self.printable()),
        ));
      }
      // A frame failed (frame threads report a damaged packet here rather
      // than from send).
      if !self.losses_tracked() {
        self.decode_errors += 1;
      }
      consecutive_errors += 1;
      if consecutive_errors > 500 {
        return Err(HeartError::new(
          ErrorCode::DecodeError,
          format!("{}: 500 frames in a row failed to decode ({})", self.printable(), av_error_text(ret)),
        ));
      }
    }
  }

  /// The frame with `pts` came out of the decoder and its receipt was at
  /// `index`. Frames come out in presentation order, so a packet sent before
  /// it with an earlier pts will never come out: the decoder swallowed it
  /// (H.264/H.265 decoders drop a frame whose slice headers are damaged
  /// without returning an error). Each counts as a decode error, except
  /// while the decoder waits for its first keyframe after (re)starting, and
  /// for interlaced frames (`count` false), whose fields may have come in
  /// packets of their own.
  fn settle_swallowed(&mut self, index: usize, pts: i64, count: bool) {
    let mut lost = 0u32;
    let mut i = 0;
    let mut end = index;
    while i < end {
      let (p, _) = self.receipt[i];
      if p != NOPTS && p < pts {
        self.receipt.remove(i);
        end -= 1;
        lost += 1;
      } else {
        i += 1;
      }
    }
    if self.decoder_primed && count {
      self.decode_errors += lost;
    }
  }

  /// Whether a frame the decoder fails on will be counted by
  /// settle_swallowed (its receipt left behind, with a timestamp), so the
  /// error it reports must not be counted again.
  fn losses_tracked(&self) -> bool {
    self.decoder_primed && self.progressive && self.receipt.back().is_some_and(|(p, _)| *p != NOPTS)
  }

  fn stamp_frame(&mut self, decode_ts: u64) -> HeartResult<FrameStamp> {
    // SAFETY: frame holds a decoded frame.
    unsafe {
      let f = self.frame;
      let mut pts = (*f).best_effort_timestamp;
      if pts == NOPTS {
        pts = (*f).pts;
      }
      let capture = match self.receipt.iter().position(|(p, _)| *p == pts && pts != NOPTS) {
        Some(i) => {
          let c = self.receipt.remove(i).map(|(_, c)| c).unwrap_or(decode_ts);
          // Interlaced streams may carry each field in its own packet: two receipts, one frame.
          self.progressive = (*f).interlaced_frame == 0;
          self.settle_swallowed(i, pts, self.progressive);
          c
        }
        None => self.receipt.pop_front().map(|(_, c)| c).unwrap_or(decode_ts),
      };
      // After a frame without a timestamp its packets' receipts cannot be
      // told apart from lost ones (an RTSP frame's first packet may lack the
      // pts its other slices carry): the next frame settles without counting.
      self.decoder_primed = pts != NOPTS;
      let corrupt = (*f).flags & (ffi::AV_FRAME_FLAG_CORRUPT as c_int) != 0 || (*f).decode_error_flags != 0;
      let keyframe = (*f).key_frame != 0;
      self.held_is_sw = false;
      if let Some(hw) = &self.hw {
        if (*f).format == hw.pix_fmt {
          ffi::av_frame_unref(self.sw_frame);
          let r = ffi::av_hwframe_transfer_data(self.sw_frame, f, 0);
          if r < 0 {
            return Err(map_error(r, "copying a hardware frame from", self.printable()));
          }
          ffi::av_frame_copy_props(self.sw_frame, f);
          self.held_is_sw = true;
        } else if self.facts.fallback_reason.is_none() {
          self.facts.fallback_reason = Some(format!(
            "software decoding: the {} hardware decoder refused this stream",
            self.facts.backend
          ));
          self.facts.backend = "software".into();
        }
      }
      let pts_us = if pts == NOPTS {
        None
      } else {
        Some((pts + self.loop_offset) as f64 * q2d(self.time_base) * 1e6)
      };
      Ok(FrameStamp {
        capture_ts_ns: capture,
        decode_ts_ns: decode_ts,
        seq: 0,
        pts_us,
        keyframe,
        corrupt,
        reconfigured: false,
        decode_errors: 0,
        rate_limited: 0,
      })
    }
  }

  fn current(&self) -> *mut ffi::AVFrame {
    if self.held_is_sw {
      self.sw_frame
    } else {
      self.frame
    }
  }

  fn current_geometry(&self) -> (u32, u32, c_int) {
    let f = self.current();
    // SAFETY: current() holds a decoded software frame.
    unsafe { ((*f).width as u32, (*f).height as u32, (*f).format) }
  }

  /// Works out the output layout for a source geometry: crop inside the
  /// source, output size (keeping the crop's aspect when only one side is
  /// given), limits.
  fn negotiate(&mut self, geom: (u32, u32, c_int)) -> HeartResult<()> {
    let (w, h, fmt) = geom;
    self.check_expectations(w, h)?;
    let (cw, ch) = match &self.cfg.crop {
      Some(c) => {
        if c.x + c.width > w || c.y + c.height > h {
          return Err(HeartError::new(
            ErrorCode::FormatMismatch,
            format!(
              "crop {}x{} at {},{} does not fit the {w}x{h} frames {} sends",
              c.width,
              c.height,
              c.x,
              c.y,
              self.printable()
            ),
          ));
        }
        (c.width, c.height)
      }
      None => (w, h),
    };
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let (ow, oh) = match (self.cfg.out_width, self.cfg.out_height) {
      (Some(ow), Some(oh)) => (ow, oh),
      (Some(ow), None) => (ow, even(ow as f64 * ch as f64 / cw as f64)),
      (None, Some(oh)) => (even(oh as f64 * cw as f64 / ch as f64), oh),
      (None, None) => (cw, ch),
    };
    self.facts.width = w;
    self.facts.height = h;
    self.facts.pix_fmt = pix_fmt_name(fmt);
    self.src_geom = Some(geom);
    self.layout = Some(frame_layout(ow, oh, self.cfg.pix_fmt));
    Ok(())
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
        if self.cfg.drop_corrupt {
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

  /// The one copy: decoded frame -> destination, cropping, scaling and
  /// converting on the way with swscale (or a plain row copy when nothing
  /// changes).
  fn convert_into(&mut self, layout: &Layout, dst: *mut u8) -> HeartResult<()> {
    let f = self.current();
    // SAFETY: f holds a decoded software frame; dst has at least layout.byte_length
    // bytes (checked by the caller) and every write below stays inside the planes
    // of `layout`.
    unsafe {
      if let Some(c) = &self.cfg.crop {
        (*f).crop_left = c.x as usize;
        (*f).crop_top = c.y as usize;
        (*f).crop_right = ((*f).width as u32 - c.x - c.width) as usize;
        (*f).crop_bottom = ((*f).height as u32 - c.y - c.height) as usize;
        let r = ffi::av_frame_apply_cropping(f, ffi::AV_FRAME_CROP_UNALIGNED as c_int);
        if r < 0 {
          return Err(map_error(r, "cropping a frame of", self.printable()));
        }
      }
      let (sw, sh, sfmt) = ((*f).width, (*f).height, (*f).format);
      let same_size = sw as u32 == layout.width && sh as u32 == layout.height;
      // Same format and size: a row copy. (Not gray from YUV: swscale expands
      // limited-range luma to full range there, and we match the FFmpeg CLI.)
      let direct = same_size && sfmt == layout.pix_fmt.av();
      if direct {
        for (i, plane) in layout.planes.iter().enumerate() {
          let row_bytes = match layout.pix_fmt {
            PixFmt::Rgb24 | PixFmt::Bgr24 => plane.width as usize * 3,
            PixFmt::Nv12 if i == 1 => plane.width as usize * 2,
            _ => plane.width as usize,
          };
          let src = (*f).data[i];
          let src_stride = (*f).linesize[i] as isize;
          let out = dst.add(plane.offset as usize);
          if src_stride == plane.stride as isize {
            // Same row pitch on both sides: one copy of the whole plane
            // (glibc switches to non-temporal stores for copies this large).
            ptr::copy_nonoverlapping(src, out, plane.stride as usize * plane.height as usize);
            continue;
          }
          for row in 0..plane.height as usize {
            ptr::copy_nonoverlapping(
              src.offset(src_stride * row as isize),
              out.add(plane.stride as usize * row),
              row_bytes,
            );
          }
        }
        return Ok(());
      }
      self.sws = ffi::sws_getCachedContext(
        self.sws,
        sw,
        sh,
        sfmt,
        layout.width as c_int,
        layout.height as c_int,
        layout.pix_fmt.av(),
        ffi::SWS_BICUBIC as c_int,
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::null(),
      );
      if self.sws.is_null() {
        return Err(HeartError::new(
          ErrorCode::FormatMismatch,
          format!(
            "cannot convert {} {sw}x{sh} to {} {}x{}",
            pix_fmt_name(sfmt),
            layout.pix_fmt.name(),
            layout.width,
            layout.height
          ),
        ));
      }
      let mut dst_ptrs = [ptr::null_mut::<u8>(); 4];
      let mut dst_strides = [0 as c_int; 4];
      for (i, plane) in layout.planes.iter().enumerate() {
        dst_ptrs[i] = dst.add(plane.offset as usize);
        dst_strides[i] = plane.stride as c_int;
      }
      let src_ptrs: [*const u8; 4] = [(*f).data[0], (*f).data[1], (*f).data[2], (*f).data[3]];
      let h = ffi::sws_scale(
        self.sws,
        src_ptrs.as_ptr(),
        (*f).linesize.as_ptr(),
        0,
        sh,
        dst_ptrs.as_ptr(),
        dst_strides.as_ptr(),
      );
      if h < 0 {
        return Err(map_error(h, "converting a frame of", self.printable()));
      }
    }
    Ok(())
  }
}
