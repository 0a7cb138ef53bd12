//! Input: open the container or connection (RTSP, file, V4L2, the test
//! clip, any other FFmpeg stream), find the video stream, and read its packets into the decoder, with
//! pacing and looping for files.

use std::ffi::{c_void, CStr, CString};
use std::os::raw::c_int;
use std::ptr;
use std::sync::Arc;

use super::{pix_fmt_name, q2d, Pipeline, SourceInfo, NOPTS};
use crate::clock::now_ns;
use crate::codec::{normalize_codec, SUPPORTED_CODECS};
use crate::error::{map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN, AVERROR_EOF, AVERROR_EXIT};
use crate::ffi;
use crate::init::interrupt_callback;
use crate::spec::Input;
use crate::testsrc;

fn cstring(s: &str, what: &str) -> HeartResult<CString> {
  CString::new(s).map_err(|_| HeartError::invalid(format!("{what} contains a NUL byte")))
}

/// How much of an RTSP stream avformat_find_stream_info may look at, in µs.
/// Measured on the test server (H.264 720p30, H.265, 1080p60): open to
/// first frame 1.07 s with 1 s of analysis, 0.21 s with 0.1 s, with the same
/// codec, size and rate found.
const RTSP_ANALYZE_US: &str = "100000";

impl Pipeline {
  pub(super) fn open_input(&mut self) -> HeartResult<()> {
    let cfg = self.cfg.clone();
    let target = cfg.source.redacted.clone();
    let mut opts: *mut ffi::AVDictionary = ptr::null_mut();
    let mut input_format: *const ffi::AVInputFormat = ptr::null();
    let set = |opts: &mut *mut ffi::AVDictionary, k: &str, v: &str| {
      let (k, v) = (CString::new(k).unwrap(), CString::new(v).unwrap());
      // SAFETY: av_dict_set copies both strings.
      unsafe { ffi::av_dict_set(opts, k.as_ptr(), v.as_ptr(), 0) };
    };
    let open_path: String = match &cfg.source.input {
      Input::Rtsp { url, udp, reorder_ms } => {
        set(&mut opts, "rtsp_transport", if *udp { "udp" } else { "tcp" });
        if *udp {
          // A 1080p keyframe is hundreds of datagrams: give the socket room so bursts are not dropped.
          set(&mut opts, "buffer_size", "4194304");
          if let Some(ms) = reorder_ms {
            // The reordering wait (µs): packets behind a gap are held this long for the missing one.
            set(&mut opts, "max_delay", &(*ms as u64 * 1000).to_string());
          }
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
        // rtsps:// is the same demuxer over TLS; FFmpeg picks TLS from the scheme.
        url.clone()
      }
      Input::File { path } => path.clone(),
      Input::V4l2 { device, format, size, fps } => {
        // SAFETY: static string lookups.
        input_format = unsafe { ffi::av_find_input_format(c"video4linux2".as_ptr()) };
        if input_format.is_null() {
          return Err(HeartError::invalid("this FFmpeg build has no video4linux2 input (libavdevice)"));
        }
        if let Some(f) = format {
          set(&mut opts, "input_format", f.av_name());
        }
        if let Some((w, h)) = size {
          set(&mut opts, "video_size", &format!("{w}x{h}"));
        }
        if let Some(f) = fps {
          set(&mut opts, "framerate", &format!("{f}"));
        }
        device.clone()
      }
      Input::TestSrc(clip) => testsrc::ensure_clip(clip, &self.flags)?.to_string_lossy().into_owned(),
      Input::Stream { url, format, options } => {
        for (k, v) in options {
          set(&mut opts, k, v);
        }
        if let Some(name) = format {
          let c_name = cstring(name, "inputFormat")?;
          // SAFETY: a lookup by a NUL-terminated name.
          input_format = unsafe { ffi::av_find_input_format(c_name.as_ptr()) };
          if input_format.is_null() {
            // SAFETY: av_dict_free takes the dictionary built above.
            unsafe { ffi::av_dict_free(&mut opts) };
            return Err(HeartError::invalid(format!(
              "this FFmpeg build has no '{name}' demuxer (ffmpeg -demuxers lists them)"
            )));
          }
        }
        url.clone()
      }
    };
    let path = cstring(&open_path, "the source URL")?;
    // SAFETY: the context is allocated here and owned by self from now on; the
    // interrupt callback's opaque pointer stays valid because self keeps the Arc.
    let ret = unsafe {
      self.fmt = ffi::avformat_alloc_context();
      if self.fmt.is_null() {
        ffi::av_dict_free(&mut opts);
        return Err(HeartError::new(ErrorCode::Internal, "out of memory"));
      }
      (*self.fmt).interrupt_callback =
        ffi::AVIOInterruptCB { callback: Some(interrupt_callback), opaque: Arc::as_ptr(&self.flags) as *mut c_void };
      if matches!(cfg.source.input, Input::V4l2 { .. }) {
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
    let idx = unsafe { ffi::av_find_best_stream(self.fmt, ffi::AVMEDIA_TYPE_VIDEO, -1, -1, ptr::null_mut(), 0) };
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
      self.facts = SourceInfo {
        url: cfg.source.redacted.clone(),
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
  pub(super) fn blocking_error(&self, ret: c_int, what: &str, timeout_ms: u32, timed_out: bool) -> HeartError {
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

  pub(super) fn check_expectations(&self, width: u32, height: u32) -> HeartResult<()> {
    let codec = normalize_codec(&self.facts.codec);
    if let Some(expected) = &self.cfg.expect.codec {
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
    let (mw, mh) = (self.cfg.expect.max_width.unwrap_or(u32::MAX), self.cfg.expect.max_height.unwrap_or(u32::MAX));
    if width > mw || height > mh {
      return Err(HeartError::new(
        ErrorCode::FormatMismatch,
        format!(
          "{} sends {width}x{height}, beyond the configured maximum {}x{}: lower the camera's resolution or raise maxWidth/maxHeight",
          self.printable(),
          self.cfg.expect.max_width.map_or("any".to_string(), |v| v.to_string()),
          self.cfg.expect.max_height.map_or("any".to_string(), |v| v.to_string()),
        ),
      ));
    }
    Ok(())
  }

  /// Sleeps (in slices, so an abort is seen within 20 ms) until `t` in stream
  /// time has come in wall time: a file or the test source then arrives like
  /// a live camera.
  pub(super) fn pace(&mut self, t: i64) -> HeartResult<()> {
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
  pub(super) fn feed_packet(&mut self) -> HeartResult<()> {
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
        if self.cfg.source.realtime && when != NOPTS {
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
          if let Err(e) = self.tap_packet(capture) {
            ffi::av_packet_unref(self.pkt);
            return Err(e);
          }
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
  pub(super) fn rewind(&mut self) -> HeartResult<()> {
    let start = self.pass_start.unwrap_or(0);
    // SAFETY: fmt/dec are open.
    let r = unsafe { ffi::avformat_seek_file(self.fmt, self.stream_index, i64::MIN, start, start, 0) };
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
}
