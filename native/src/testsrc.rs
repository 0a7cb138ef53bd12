//! The built-in test camera: a short H.264 or HEVC clip encoded once with
//! libavcodec's libx264 / libx265 into the cache directory, then played like a
//! live camera (looped, paced at real time) by the normal file pipeline, so
//! everything after the network is the real decode path.
//!
//! The picture is a moving diagonal gradient with a white box sweeping across
//! it (something for the motion detector) and the frame number as a row of
//! black/white blocks along the top (something tests can read back).

use std::ffi::CString;
use std::os::raw::c_int;
use std::path::PathBuf;
use std::ptr;
use std::sync::Mutex;

use crate::error::{map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN, AVERROR_EOF};
use crate::ffi;
use crate::init::{ffmpeg_init, AbortFlags};

/// Bumped whenever the picture or the encoder settings change, so stale cached clips are not reused.
const CLIP_VERSION: u32 = 2;
/// Bits of the frame number drawn along the top edge.
pub const COUNTER_BITS: u32 = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct ClipSpec {
  /// 'h264' or 'hevc'.
  pub codec: String,
  pub width: u32,
  pub height: u32,
  /// Frames per second; fractions (29.97) are kept as a rational in the clip.
  pub fps: f64,
  pub seconds: u32,
}

impl ClipSpec {
  /// The rate as the exact fraction the encoder and muxer store.
  fn rate(&self) -> ffi::AVRational {
    // SAFETY: pure arithmetic.
    unsafe { ffi::av_d2q(self.fps, 100_000) }
  }
  fn total_frames(&self) -> u32 {
    (self.fps * self.seconds as f64).round().max(1.0) as u32
  }
}

pub fn cache_dir() -> PathBuf {
  if let Ok(dir) = std::env::var("HEART_CACHE_DIR") {
    if !dir.is_empty() {
      return PathBuf::from(dir);
    }
  }
  let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
  PathBuf::from(home).join(".cache").join("heart")
}

/// One generation at a time in this process; other processes are safe through the atomic rename.
static GENERATE: Mutex<()> = Mutex::new(());

pub fn ensure_clip(spec: &ClipSpec, flags: &AbortFlags) -> HeartResult<PathBuf> {
  let dir = cache_dir();
  let path = dir.join(format!(
    "testsrc-v{CLIP_VERSION}-{}-{}x{}-{}fps-{}s.mp4",
    spec.codec, spec.width, spec.height, spec.fps, spec.seconds
  ));
  if path.exists() {
    return Ok(path);
  }
  let _guard = GENERATE.lock().unwrap_or_else(|p| p.into_inner());
  if path.exists() {
    return Ok(path);
  }
  std::fs::create_dir_all(&dir).map_err(|e| {
    HeartError::new(
      ErrorCode::IoError,
      format!("cannot create the cache directory {} ({e}); set HEART_CACHE_DIR to a writable directory", dir.display()),
    )
  })?;
  let tmp = dir.join(format!(".{}.{}.tmp.mp4", path.file_name().unwrap().to_string_lossy(), std::process::id()));
  let result = encode_clip(spec, &tmp, flags);
  if let Err(e) = result {
    let _ = std::fs::remove_file(&tmp);
    return Err(e);
  }
  std::fs::rename(&tmp, &path).map_err(|e| {
    HeartError::new(ErrorCode::IoError, format!("cannot move the test clip into {} ({e})", path.display()))
  })?;
  Ok(path)
}

/// Draws frame `index` of `total` into a yuv420p frame.
fn draw(frame: *mut ffi::AVFrame, spec: &ClipSpec, index: u32, total: u32) {
  let (w, h) = (spec.width as usize, spec.height as usize);
  // SAFETY: frame was allocated with av_frame_get_buffer for w x h yuv420p and made writable;
  // every index below stays inside its plane (rows < height, columns < width).
  unsafe {
    let (y, ys) = ((*frame).data[0], (*frame).linesize[0] as usize);
    let (u, us) = ((*frame).data[1], (*frame).linesize[1] as usize);
    let (v, vs) = ((*frame).data[2], (*frame).linesize[2] as usize);
    let shift = (index * 4) as usize;
    for row in 0..h {
      let line = y.add(row * ys);
      for col in 0..w {
        *line.add(col) = (16 + ((col + row + shift) % 220)) as u8;
      }
    }
    for row in 0..h / 2 {
      let (lu, lv) = (u.add(row * us), v.add(row * vs));
      for col in 0..w / 2 {
        *lu.add(col) = (64 + (col * 128 / (w / 2))) as u8;
        *lv.add(col) = (64 + (row * 128 / (h / 2))) as u8;
      }
    }
    // A white box sweeping left to right over the clip.
    let box_w = (w / 8).max(8);
    let box_h = (h / 6).max(8);
    let x0 = (w - box_w) * index as usize / total.max(1) as usize;
    let y0 = h / 2 - box_h / 2;
    for row in y0..y0 + box_h {
      let line = y.add(row * ys);
      for col in x0..x0 + box_w {
        *line.add(col) = 235;
      }
    }
    // The frame number, most significant bit first, as blocks along the top.
    let block = (w / COUNTER_BITS as usize).max(2);
    let block_h = (h / 20).max(4);
    for bit in 0..COUNTER_BITS as usize {
      let on = (index >> (COUNTER_BITS as usize - 1 - bit)) & 1 == 1;
      let value = if on { 235 } else { 16 };
      for row in 0..block_h {
        let line = y.add(row * ys);
        for col in bit * block..((bit + 1) * block).min(w) {
          *line.add(col) = value;
        }
      }
    }
  }
}

struct Encoder {
  oc: *mut ffi::AVFormatContext,
  enc: *mut ffi::AVCodecContext,
  frame: *mut ffi::AVFrame,
  pkt: *mut ffi::AVPacket,
}

impl Drop for Encoder {
  fn drop(&mut self) {
    // SAFETY: pointers are null or owned here.
    unsafe {
      ffi::av_frame_free(&mut self.frame);
      ffi::av_packet_free(&mut self.pkt);
      ffi::avcodec_free_context(&mut self.enc);
      if !self.oc.is_null() {
        if !(*self.oc).pb.is_null() {
          ffi::avio_closep(&mut (*self.oc).pb);
        }
        ffi::avformat_free_context(self.oc);
      }
    }
  }
}

fn set_opt(obj: *mut std::os::raw::c_void, key: &str, value: &str) {
  let (k, v) = (CString::new(key).unwrap(), CString::new(value).unwrap());
  // SAFETY: obj is an FFmpeg object with an AVClass; unknown keys are ignored (return value).
  unsafe { ffi::av_opt_set(obj, k.as_ptr(), v.as_ptr(), 0) };
}

fn encode_clip(spec: &ClipSpec, path: &std::path::Path, flags: &AbortFlags) -> HeartResult<()> {
  ffmpeg_init();
  let target = format!("test clip {}", path.display());
  let path_c = CString::new(path.to_string_lossy().as_bytes()).unwrap();
  let encoder_name = if spec.codec == "hevc" { c"libx265" } else { c"libx264" };
  let mut e = Encoder { oc: ptr::null_mut(), enc: ptr::null_mut(), frame: ptr::null_mut(), pkt: ptr::null_mut() };
  // SAFETY: the usual FFmpeg encode + mux sequence; every object is owned by `e` and freed by its Drop.
  unsafe {
    let codec = ffi::avcodec_find_encoder_by_name(encoder_name.as_ptr());
    if codec.is_null() {
      return Err(HeartError::new(
        ErrorCode::UnsupportedCodec,
        format!(
          "this FFmpeg build has no {} encoder to make the test clip (Debian's libavcodec has it)",
          encoder_name.to_string_lossy()
        ),
      ));
    }
    let r = ffi::avformat_alloc_output_context2(&mut e.oc, ptr::null(), c"mp4".as_ptr(), path_c.as_ptr());
    if r < 0 || e.oc.is_null() {
      return Err(map_error(r, "creating", &target));
    }
    let st = ffi::avformat_new_stream(e.oc, ptr::null());
    e.enc = ffi::avcodec_alloc_context3(codec);
    e.frame = ffi::av_frame_alloc();
    e.pkt = ffi::av_packet_alloc();
    if st.is_null() || e.enc.is_null() || e.frame.is_null() || e.pkt.is_null() {
      return Err(HeartError::new(ErrorCode::Internal, "out of memory creating the test clip"));
    }
    let enc = e.enc;
    (*enc).width = spec.width as c_int;
    (*enc).height = spec.height as c_int;
    (*enc).pix_fmt = ffi::AV_PIX_FMT_YUV420P;
    let rate = spec.rate();
    (*enc).time_base = ffi::AVRational { num: rate.den, den: rate.num };
    (*enc).framerate = rate;
    // One keyframe a second and no B-frames: what IP cameras send.
    (*enc).gop_size = spec.fps.round().max(1.0) as c_int;
    (*enc).max_b_frames = 0;
    (*enc).bit_rate = 0;
    if (*(*e.oc).oformat).flags & ffi::AVFMT_GLOBALHEADER as c_int != 0 {
      (*enc).flags |= ffi::AV_CODEC_FLAG_GLOBAL_HEADER as c_int;
    }
    let priv_data = (*enc).priv_data;
    if spec.codec == "hevc" {
      set_opt(priv_data, "preset", "ultrafast");
      set_opt(priv_data, "x265-params", "log-level=none:slices=4");
      set_opt(priv_data, "crf", "28");
    } else {
      set_opt(priv_data, "preset", "veryfast");
      set_opt(priv_data, "crf", "23");
      // Several slices per frame, like many cameras: lets a low-latency decoder use slice threads.
      set_opt(priv_data, "x264-params", "slices=4");
    }
    let r = ffi::avcodec_open2(enc, codec, ptr::null_mut());
    if r < 0 {
      return Err(map_error(r, "opening the encoder for", &target));
    }
    let r = ffi::avcodec_parameters_from_context((*st).codecpar, enc);
    if r < 0 {
      return Err(map_error(r, "configuring", &target));
    }
    (*st).time_base = (*enc).time_base;
    let r = ffi::avio_open(&mut (*e.oc).pb, path_c.as_ptr(), ffi::AVIO_FLAG_WRITE as c_int);
    if r < 0 {
      return Err(map_error(r, "writing", &target));
    }
    let r = ffi::avformat_write_header(e.oc, ptr::null_mut());
    if r < 0 {
      return Err(map_error(r, "writing the header of", &target));
    }
    (*e.frame).format = ffi::AV_PIX_FMT_YUV420P;
    (*e.frame).width = spec.width as c_int;
    (*e.frame).height = spec.height as c_int;
    let r = ffi::av_frame_get_buffer(e.frame, 0);
    if r < 0 {
      return Err(map_error(r, "allocating a frame for", &target));
    }
    let total = spec.total_frames();
    for i in 0..=total {
      flags.check()?;
      let send = if i < total {
        let r = ffi::av_frame_make_writable(e.frame);
        if r < 0 {
          return Err(map_error(r, "drawing", &target));
        }
        draw(e.frame, spec, i, total);
        (*e.frame).pts = i as i64;
        ffi::avcodec_send_frame(enc, e.frame)
      } else {
        ffi::avcodec_send_frame(enc, ptr::null())
      };
      if send < 0 {
        return Err(map_error(send, "encoding", &target));
      }
      loop {
        let r = ffi::avcodec_receive_packet(enc, e.pkt);
        if r == AVERROR_EAGAIN || r == AVERROR_EOF {
          break;
        }
        if r < 0 {
          return Err(map_error(r, "encoding", &target));
        }
        // Every frame lasts 1/fps. Without a duration the muxer gives the last
        // one none, its edit list then trims it, and each loop would skip a frame.
        if (*e.pkt).duration <= 0 {
          (*e.pkt).duration = 1;
        }
        ffi::av_packet_rescale_ts(e.pkt, (*enc).time_base, (*st).time_base);
        (*e.pkt).stream_index = (*st).index;
        let w = ffi::av_interleaved_write_frame(e.oc, e.pkt);
        if w < 0 {
          return Err(map_error(w, "writing", &target));
        }
      }
    }
    let r = ffi::av_write_trailer(e.oc);
    if r < 0 {
      return Err(map_error(r, "finishing", &target));
    }
  }
  Ok(())
}
