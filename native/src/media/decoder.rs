//! Decoder: software or hardware (vaapi, cuda, v4l2m2m, falling back to
//! software and saying why), threads, and taking frames out with their
//! receipt stamps.

use std::ffi::{c_void, CString};
use std::os::raw::c_int;
use std::ptr;

use super::{q2d, FrameStamp, Pipeline, NOPTS};
use crate::clock::now_ns;
use crate::codec::normalize_codec;
use crate::error::{av_error_text, map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN, AVERROR_EOF};
use crate::ffi;
use crate::threads::{with_thread_name, DECODER_THREAD_NAME};

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
      other => {
        Err(HeartError::invalid(format!("unknown decoder '{other}'; use auto, software, vaapi, cuda or v4l2m2m")))
      }
    }
  }
}

pub(super) struct HwState {
  pub(super) pix_fmt: ffi::AVPixelFormat,
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

impl Pipeline {
  pub(super) fn open_decoder(&mut self) -> HeartResult<()> {
    let codec_name = normalize_codec(&self.facts.codec);
    let pref = self.cfg.decode.backend;
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

  pub(super) fn par(&self) -> *mut ffi::AVCodecParameters {
    // SAFETY: stream_index is valid once open_input succeeded.
    unsafe { (*(*(*self.fmt).streams.add(self.stream_index as usize))).codecpar }
  }

  pub(super) fn configure_threads(&self, ctx: *mut ffi::AVCodecContext) {
    // SAFETY: ctx is a freshly allocated, not yet opened context.
    unsafe {
      (*ctx).thread_count = self.cfg.decode.threads as c_int;
      if self.cfg.decode.low_latency {
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

  pub(super) fn open_software(&mut self) -> HeartResult<()> {
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
      let dec = self.dec;
      let r = with_thread_name(DECODER_THREAD_NAME, || ffi::avcodec_open2(dec, codec, ptr::null_mut()));
      if r < 0 {
        return Err(map_error(r, "opening the decoder for", self.printable()));
      }
    }
    self.facts.backend = "software".into();
    Ok(())
  }

  /// Tries one hardware backend; Err carries the reason it is not used.
  pub(super) fn try_hardware(&mut self, backend: DecoderPref, codec_name: &str) -> Result<(), String> {
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

  /// Decodes the next frame into `frame` (or `sw_frame` for hardware frames).
  pub(super) fn decode_next(&mut self) -> HeartResult<FrameStamp> {
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
        if self.cfg.source.loop_ {
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

  pub(super) fn stamp_frame(&mut self, decode_ts: u64) -> HeartResult<FrameStamp> {
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
          self.facts.fallback_reason =
            Some(format!("software decoding: the {} hardware decoder refused this stream", self.facts.backend));
          self.facts.backend = "software".into();
        }
      }
      let pts_us = if pts == NOPTS { None } else { Some((pts + self.loop_offset) as f64 * q2d(self.time_base) * 1e6) };
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
}
