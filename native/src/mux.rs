//! Fragmented MP4 in memory: FFmpeg's mov muxer (format "mp4") writing
//! through a custom AVIOContext into a Vec, so the recorder and the
//! passthrough live view get an init segment (ftyp + moov) and then one
//! moof + mdat fragment per cut(), from the camera's own H.264 / HEVC access
//! units. No re-encode; FFmpeg turns the Annex B input into avcC / hvcC and
//! length-prefixed samples.
//!
//! Each fragment is self-contained (default-base-is-moof), so a file of the
//! init segment followed by the fragments written so far plays even when the
//! writer is killed mid-file: the crash-safety model of the recorder.

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::os::raw::c_int;
use std::ptr;

use napi::bindgen_prelude::{BufferSlice, Uint8Array};
use napi::Env;
use napi_derive::napi;

use crate::error::{map_error, ErrorCode, HeartError, HeartResult};
use crate::ffi;
use crate::init::ffmpeg_init;
use crate::js::node_buffer;
use crate::nal::{is_annexb, mime_codec, parameter_sets, VideoCodec};

/// The track's timescale: 90 kHz, what RTP video uses, exact for 25/30/50/60 fps.
const TIMESCALE: i32 = 90_000;
/// What Chromium's MSE needs besides plain fragments: an empty moov (no
/// samples up front), tfdt-based fragments without absolute data offsets,
/// and fragments cut only when asked.
const MOVFLAGS: &str = "empty_moov+default_base_moof+frag_custom";
const IO_BUFFER: usize = 64 * 1024;

/// How to set up an Mp4Muxer.
#[napi(object)]
pub struct Mp4MuxerOptions {
  #[napi(ts_type = "'h264' | 'hevc'")]
  pub codec: String,
  pub width: u32,
  pub height: u32,
  /// The parameter sets in Annex B (source.info.codecConfig): SPS and PPS, VPS first for HEVC.
  pub codec_config: Uint8Array,
  /// Wall-clock time (ms since the Unix epoch) written as the file's creation_time.
  pub creation_time_ms: Option<f64>,
  /// Tags written into the file (moov/udta/meta as mdta keys); ffprobe lists
  /// them under the format's tags, e.g. `heart_capture_ts_ns`.
  pub metadata: Option<HashMap<String, String>>,
}

/// What the AVIOContext's write callback appends to. Boxed by the muxer so
/// its address (the callback's opaque pointer) survives the muxer moving.
struct Sink {
  bytes: Vec<u8>,
}

/// The bytes avio's write callback gets: `*mut u8` up to FFmpeg 6.1
/// (libavformat 60), `*const u8` from FFmpeg 7.0 (libavformat 61). `collect`
/// takes either; the call infers the one the bindings declare.
trait WriteBuf: Copy {
  fn as_const(self) -> *const u8;
}

impl WriteBuf for *mut u8 {
  fn as_const(self) -> *const u8 {
    self
  }
}

impl WriteBuf for *const u8 {
  fn as_const(self) -> *const u8 {
    self
  }
}

unsafe extern "C" fn collect<B: WriteBuf>(opaque: *mut c_void, buf: B, size: c_int) -> c_int {
  // SAFETY: opaque is the Box<Sink> the muxer owns for the context's lifetime; buf holds size bytes.
  unsafe {
    let sink = &mut *(opaque as *mut Sink);
    if size > 0 {
      sink.bytes.extend_from_slice(std::slice::from_raw_parts(buf.as_const(), size as usize));
    }
  }
  size
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z.rem_euclid(146_097);
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
  let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
  (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// ISO 8601 UTC with microseconds, the form FFmpeg parses for creation_time.
fn iso_time(ms: f64) -> String {
  let us = (ms * 1000.0).round() as i64;
  let secs = us.div_euclid(1_000_000);
  let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
  let s = secs.rem_euclid(86_400);
  format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z", s / 3600, s / 60 % 60, s % 60, us.rem_euclid(1_000_000))
}

fn c_string(s: &str, what: &str) -> HeartResult<CString> {
  CString::new(s).map_err(|_| HeartError::invalid(format!("Mp4Muxer: {what} contains a NUL byte")))
}

fn closed_error() -> HeartError {
  HeartError::new(ErrorCode::Closed, "Mp4Muxer: the muxer is closed; create a new one")
}

/// A fragmented-MP4 muxer for one H.264 / HEVC track, writing to memory.
/// Synchronous: run it in a worker.
#[napi]
pub struct Mp4Muxer {
  ctx: *mut ffi::AVFormatContext,
  pkt: *mut ffi::AVPacket,
  sink: Box<Sink>,
  init: Vec<u8>,
  mime: String,
  last_dts: Option<i64>,
  samples_since_cut: u32,
}

impl Mp4Muxer {
  fn open(o: &Mp4MuxerOptions) -> HeartResult<Mp4Muxer> {
    ffmpeg_init();
    let codec = VideoCodec::from_name(&crate::codec::normalize_codec(&o.codec)).ok_or_else(|| {
      HeartError::invalid(format!("Mp4Muxer: codec '{}' is not muxed; use 'h264' or 'hevc'", o.codec))
    })?;
    for (what, v) in [("width", o.width), ("height", o.height)] {
      if !(2..=16384).contains(&v) {
        return Err(HeartError::invalid(format!("Mp4Muxer: {what} must be from 2 to 16384, got {v}")));
      }
    }
    let config: &[u8] = &o.codec_config;
    let sets = if is_annexb(config) { parameter_sets(config, codec) } else { Vec::new() };
    let mime = mime_codec(&sets, codec).ok_or_else(|| {
      HeartError::invalid(format!(
        "Mp4Muxer: codecConfig ({} bytes) holds no Annex B SPS for {}: pass source.info.codecConfig",
        config.len(),
        o.codec
      ))
    })?;
    let mut m = Mp4Muxer {
      ctx: ptr::null_mut(),
      pkt: ptr::null_mut(),
      sink: Box::new(Sink { bytes: Vec::with_capacity(IO_BUFFER) }),
      init: Vec::new(),
      mime,
      last_dts: None,
      samples_since_cut: 0,
    };
    let mut opts: *mut ffi::AVDictionary = ptr::null_mut();
    let result = m.set_up(o, codec, &sets, &mut opts);
    // SAFETY: the dictionary (what write_header did not consume) is ours to free.
    unsafe { ffi::av_dict_free(&mut opts) };
    result.map(|_| m)
  }

  fn set_up(
    &mut self,
    o: &Mp4MuxerOptions,
    codec: VideoCodec,
    sets: &[u8],
    opts: &mut *mut ffi::AVDictionary,
  ) -> HeartResult<()> {
    let oom = || HeartError::new(ErrorCode::Internal, "Mp4Muxer: out of memory");
    let mut tags: Vec<(CString, CString)> = Vec::new();
    if let Some(ms) = o.creation_time_ms {
      if !ms.is_finite() || ms < 0.0 {
        return Err(HeartError::invalid(format!("Mp4Muxer: creationTimeMs must be a time after 1970, got {ms}")));
      }
      tags.push((c"creation_time".into(), c_string(&iso_time(ms), "creationTimeMs")?));
    }
    let custom = o.metadata.as_ref().is_some_and(|m| !m.is_empty());
    for (k, v) in o.metadata.iter().flatten() {
      if k.is_empty() {
        return Err(HeartError::invalid("Mp4Muxer: metadata keys must not be empty"));
      }
      tags.push((c_string(k, "a metadata key")?, c_string(v, "a metadata value")?));
    }
    let movflags = if custom { format!("{MOVFLAGS}+use_metadata_tags") } else { MOVFLAGS.to_string() };
    let movflags = c_string(&movflags, "movflags")?;
    // SAFETY: the context, stream and AVIO are allocated here, owned by self and freed in Drop;
    // every allocation is checked.
    unsafe {
      let r = ffi::avformat_alloc_output_context2(&mut self.ctx, ptr::null(), c"mp4".as_ptr(), ptr::null());
      if r < 0 || self.ctx.is_null() {
        return Err(map_error(r, "opening the mp4 muxer for", "memory"));
      }
      self.pkt = ffi::av_packet_alloc();
      let st = ffi::avformat_new_stream(self.ctx, ptr::null());
      if self.pkt.is_null() || st.is_null() {
        return Err(oom());
      }
      (*st).time_base = ffi::AVRational { num: 1, den: TIMESCALE };
      let par = (*st).codecpar;
      (*par).codec_type = ffi::AVMEDIA_TYPE_VIDEO;
      (*par).width = o.width as c_int;
      (*par).height = o.height as c_int;
      match codec {
        VideoCodec::H264 => (*par).codec_id = ffi::AV_CODEC_ID_H264,
        VideoCodec::Hevc => {
          (*par).codec_id = ffi::AV_CODEC_ID_HEVC;
          // hvc1 (parameter sets in the sample entry) is what Safari and Chromium both accept; hev1 is not.
          (*par).codec_tag = u32::from_le_bytes(*b"hvc1");
        }
      }
      let extra = ffi::av_mallocz(sets.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize) as *mut u8;
      if extra.is_null() {
        return Err(oom());
      }
      ptr::copy_nonoverlapping(sets.as_ptr(), extra, sets.len());
      (*par).extradata = extra;
      (*par).extradata_size = sets.len() as c_int;
      for (k, v) in &tags {
        ffi::av_dict_set(&mut (*self.ctx).metadata, k.as_ptr(), v.as_ptr(), 0);
      }
      let buffer = ffi::av_malloc(IO_BUFFER) as *mut u8;
      if buffer.is_null() {
        return Err(oom());
      }
      let sink = &mut *self.sink as *mut Sink as *mut c_void;
      let pb = ffi::avio_alloc_context(buffer, IO_BUFFER as c_int, 1, sink, None, Some(collect), None);
      if pb.is_null() {
        ffi::av_free(buffer.cast());
        return Err(oom());
      }
      (*self.ctx).pb = pb;
      (*self.ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO as c_int;
      ffi::av_dict_set(opts, c"movflags".as_ptr(), movflags.as_ptr(), 0);
      let r = ffi::avformat_write_header(self.ctx, opts);
      if r < 0 {
        return Err(map_error(r, "writing the MP4 header for", "memory"));
      }
      let st = *(*self.ctx).streams;
      if (*st).time_base.den != TIMESCALE || (*st).time_base.num != 1 {
        return Err(HeartError::new(ErrorCode::Internal, "Mp4Muxer: the muxer changed the track's time base"));
      }
      ffi::avio_flush(pb);
    }
    self.init = std::mem::take(&mut self.sink.bytes);
    Ok(())
  }

  fn ticks(us: f64) -> i64 {
    (us * TIMESCALE as f64 / 1e6).round() as i64
  }

  /// Closes the current fragment into `sink` (nothing when it has no sample).
  fn flush_fragment(&mut self) -> HeartResult<()> {
    if self.ctx.is_null() {
      return Err(closed_error());
    }
    if self.samples_since_cut == 0 {
      return Ok(());
    }
    // SAFETY: an open context; a NULL packet asks frag_custom to close the fragment.
    unsafe {
      let r = ffi::av_write_frame(self.ctx, ptr::null_mut());
      if r < 0 {
        return Err(map_error(r, "closing a fragment of", "the MP4 file"));
      }
      ffi::avio_flush((*self.ctx).pb);
    }
    self.samples_since_cut = 0;
    Ok(())
  }

  fn free(&mut self) {
    // SAFETY: owned or null; the AVIO buffer may have been replaced by FFmpeg, so it is freed through pb.
    unsafe {
      if !self.ctx.is_null() {
        let mut pb = (*self.ctx).pb;
        if !pb.is_null() {
          ffi::av_freep(&mut (*pb).buffer as *mut *mut u8 as *mut c_void);
          ffi::avio_context_free(&mut pb);
          (*self.ctx).pb = ptr::null_mut();
        }
        ffi::avformat_free_context(self.ctx);
        self.ctx = ptr::null_mut();
      }
      ffi::av_packet_free(&mut self.pkt);
    }
  }
}

impl Drop for Mp4Muxer {
  fn drop(&mut self) {
    self.free();
  }
}

#[napi]
impl Mp4Muxer {
  /// Opens the muxer and writes the init segment. Throws INVALID_ARGUMENT
  /// for an unknown codec, a size out of range, or a codecConfig without an
  /// Annex B SPS.
  #[napi(constructor)]
  pub fn new(options: Mp4MuxerOptions) -> napi::Result<Self, ErrorCode> {
    Mp4Muxer::open(&options).map_err(Into::into)
  }

  /// ftyp + moov: write it first in every file, or append it first to a MediaSource SourceBuffer.
  #[napi(getter)]
  pub fn init_segment<'e>(&self, env: &'e Env) -> napi::Result<BufferSlice<'e>, ErrorCode> {
    node_buffer(env, &self.init).map_err(Into::into)
  }

  /// The RFC 6381 codec string (`avc1.64001f`, `hvc1.1.6.L93.B0`): use
  /// `video/mp4; codecs="…"` with MediaSource.isTypeSupported().
  #[napi(getter)]
  pub fn mime_codec(&self) -> String {
    self.mime.clone()
  }

  /// Adds one access unit (Annex B, as takePackets() gives it) to the
  /// current fragment. Timestamps in µs as given (rebase a file to start
  /// near 0); dtsUs NaN means "same as ptsUs". Throws INVALID_ARGUMENT when
  /// dts does not strictly increase or pts is before dts, CLOSED after close().
  #[napi]
  pub fn write(
    &mut self,
    data: &[u8],
    pts_us: f64,
    dts_us: f64,
    duration_us: f64,
    keyframe: bool,
  ) -> napi::Result<(), ErrorCode> {
    let result = (|| -> HeartResult<()> {
      if self.ctx.is_null() {
        return Err(closed_error());
      }
      if data.is_empty() {
        return Err(HeartError::invalid("Mp4Muxer.write: the access unit is empty"));
      }
      if !pts_us.is_finite() {
        return Err(HeartError::invalid(format!("Mp4Muxer.write: ptsUs must be a finite number, got {pts_us}")));
      }
      // A stream without decode times (no B-frames) decodes in presentation order.
      let dts_us = if dts_us.is_nan() { pts_us } else { dts_us };
      if !(dts_us.is_finite() && duration_us.is_finite() && duration_us >= 0.0) {
        return Err(HeartError::invalid(format!(
          "Mp4Muxer.write: dtsUs {dts_us} and durationUs {duration_us} must be finite (durationUs 0 or more)"
        )));
      }
      let (pts, dts) = (Mp4Muxer::ticks(pts_us), Mp4Muxer::ticks(dts_us));
      if let Some(last) = self.last_dts {
        if dts <= last {
          return Err(HeartError::invalid(format!(
            "Mp4Muxer.write: dtsUs {dts_us} does not increase (the previous sample's was {}): decode times must strictly increase within a file",
            last as f64 * 1e6 / TIMESCALE as f64
          )));
        }
      }
      if pts < dts {
        return Err(HeartError::invalid(format!(
          "Mp4Muxer.write: ptsUs {pts_us} is before dtsUs {dts_us}: a frame cannot be shown before it is decoded"
        )));
      }
      // SAFETY: pkt is owned; av_new_packet gives it size bytes (plus padding) we fill.
      unsafe {
        let r = ffi::av_new_packet(self.pkt, data.len() as c_int);
        if r < 0 {
          return Err(HeartError::new(ErrorCode::Internal, "Mp4Muxer: out of memory"));
        }
        ptr::copy_nonoverlapping(data.as_ptr(), (*self.pkt).data, data.len());
        (*self.pkt).pts = pts;
        (*self.pkt).dts = dts;
        (*self.pkt).duration = Mp4Muxer::ticks(duration_us);
        (*self.pkt).stream_index = 0;
        if keyframe {
          (*self.pkt).flags |= ffi::AV_PKT_FLAG_KEY as c_int;
        }
        let r = ffi::av_write_frame(self.ctx, self.pkt);
        ffi::av_packet_unref(self.pkt);
        if r < 0 {
          return Err(map_error(r, "muxing a sample into", "the MP4 fragment"));
        }
      }
      self.last_dts = Some(dts);
      self.samples_since_cut += 1;
      Ok(())
    })();
    result.map_err(Into::into)
  }

  /// Closes the current fragment and returns it (moof + mdat); an empty
  /// Buffer when nothing was written since the last cut. Append the bytes to
  /// the file right after the init segment or the previous fragment.
  #[napi]
  pub fn cut<'e>(&mut self, env: &'e Env) -> napi::Result<BufferSlice<'e>, ErrorCode> {
    self.flush_fragment()?;
    // Copied into a Node Buffer; the sink keeps its capacity for the next fragment.
    let result = node_buffer(env, &self.sink.bytes);
    self.sink.bytes.clear();
    result.map_err(Into::into)
  }

  /// Frees the muxer. Samples written since the last cut() are discarded:
  /// cut() first to keep them. Safe to call more than once.
  #[napi]
  pub fn close(&mut self) {
    self.free();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn iso_time_is_utc_with_microseconds() {
    assert_eq!(iso_time(0.0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(iso_time(1_796_656_216_123.456), "2026-12-07T15:10:16.123456Z");
    assert_eq!(iso_time(951_782_400_000.0), "2000-02-29T00:00:00.000000Z");
  }
}
