//! Frame-to-frame work for consumers: scaling/conversion between two
//! caller-described layouts (swscale), and JPEG encoding (FFmpeg's mjpeg
//! encoder) straight from the ring's pixel formats.

use std::os::raw::c_int;
use std::ptr;

use napi::bindgen_prelude::BufferSlice;
use napi::Env;
use napi_derive::napi;

use crate::error::{map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN, AVERROR_EOF};
use crate::ffi;
use crate::js::{node_buffer, ByteView};
use crate::layout::{check_layout, frame_layout, Layout, PixFmt, PlaneLayout};

/// A frame's layout in a buffer, as frameLayout() in @heart/ring returns it
/// (a ring lease's width/height/pixFmt/planes fit too).
#[napi(object)]
pub struct FrameLayoutInput {
  pub width: u32,
  pub height: u32,
  #[napi(ts_type = "'yuv420p' | 'nv12' | 'gray' | 'rgb24' | 'bgr24'")]
  pub pix_fmt: String,
  pub planes: Vec<PlaneLayout>,
}

/// JPEG options: output size (default: the source size) and quality 1..100 (default 80).
#[napi(object)]
pub struct JpegOptions {
  pub width: Option<u32>,
  pub height: Option<u32>,
  pub quality: Option<u32>,
}

fn to_layout(l: FrameLayoutInput) -> HeartResult<Layout> {
  if l.width == 0 || l.height == 0 || l.width > 16384 || l.height > 16384 {
    return Err(HeartError::invalid(format!("layout size {}x{} is out of range", l.width, l.height)));
  }
  let pix_fmt = PixFmt::parse(&l.pix_fmt)?;
  let byte_length = frame_layout(l.width, l.height, pix_fmt).byte_length;
  Ok(Layout { width: l.width, height: l.height, pix_fmt, byte_length, planes: l.planes })
}

struct Sws(*mut ffi::SwsContext);
impl Drop for Sws {
  fn drop(&mut self) {
    // SAFETY: owned context or null.
    unsafe { ffi::sws_freeContext(self.0) };
  }
}

/// What a swscale context is built for: source and destination size and
/// format, and the filter.
type SwsKey = (c_int, c_int, ffi::AVPixelFormat, c_int, c_int, ffi::AVPixelFormat, c_int);

/// Contexts kept per thread (each consumer worker is its own thread), most
/// recently used first. Building one costs more than a 1080p -> 320x180
/// scale itself (filter tables, and bicubic's wide taps), and a consumer
/// scales the same geometry frame after frame.
const SWS_CACHE_SIZE: usize = 4;

thread_local! {
  static SWS_CACHE: std::cell::RefCell<Vec<(SwsKey, Sws)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Area averaging when shrinking (every source pixel counts once: cheap, and
/// no aliasing on the 6x reductions consumers do); bicubic otherwise.
fn scale_flags(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32) -> c_int {
  if dst_w <= src_w && dst_h <= src_h && (dst_w < src_w || dst_h < src_h) {
    ffi::SWS_AREA as c_int
  } else {
    ffi::SWS_BICUBIC as c_int
  }
}

/// Runs `f` with a cached context for `key`, building (and caching) it first if needed.
fn with_sws<T>(key: SwsKey, f: impl FnOnce(*mut ffi::SwsContext) -> HeartResult<T>) -> HeartResult<T> {
  SWS_CACHE.with(|cache| {
    let mut cache = cache.borrow_mut();
    let found = cache.iter().position(|(k, _)| *k == key);
    let entry = match found {
      Some(i) => cache.remove(i),
      None => {
        let (sw, sh, sf, dw, dh, df, flags) = key;
        // SAFETY: plain constructor; NULL (an impossible conversion) is checked.
        let ctx =
          unsafe { ffi::sws_getContext(sw, sh, sf, dw, dh, df, flags, ptr::null_mut(), ptr::null_mut(), ptr::null()) };
        if ctx.is_null() {
          return Err(HeartError::invalid("swscale cannot do this conversion"));
        }
        (key, Sws(ctx))
      }
    };
    let result = f(entry.1 .0);
    cache.insert(0, entry);
    cache.truncate(SWS_CACHE_SIZE);
    result
  })
}

/// Converts/scales `src` (described by `src_layout`) into planes given as pointers + strides.
fn sws_into(
  src: &ByteView,
  src_layout: &Layout,
  dst_ptrs: [*mut u8; 4],
  dst_strides: [c_int; 4],
  dst_w: u32,
  dst_h: u32,
  dst_fmt: ffi::AVPixelFormat,
) -> HeartResult<()> {
  let key = (
    src_layout.width as c_int,
    src_layout.height as c_int,
    src_layout.pix_fmt.av(),
    dst_w as c_int,
    dst_h as c_int,
    dst_fmt,
    scale_flags(src_layout.width, src_layout.height, dst_w, dst_h),
  );
  // SAFETY: both layouts were checked against their buffers, so swscale reads and writes inside them.
  with_sws(key, |ctx| unsafe {
    let mut src_ptrs = [ptr::null::<u8>(); 4];
    let mut src_strides = [0 as c_int; 4];
    for (i, p) in src_layout.planes.iter().enumerate() {
      src_ptrs[i] = src.ptr.add(p.offset as usize);
      src_strides[i] = p.stride as c_int;
    }
    let r = ffi::sws_scale(
      ctx,
      src_ptrs.as_ptr(),
      src_strides.as_ptr(),
      0,
      src_layout.height as c_int,
      dst_ptrs.as_ptr(),
      dst_strides.as_ptr(),
    );
    if r < 0 {
      return Err(map_error(r, "scaling", "a frame"));
    }
    Ok(())
  })
}

/// Scales and/or converts the frame in `src` (laid out as `srcLayout`) into
/// `dst` (laid out as `dstLayout`) with swscale, e.g. a consumer shrinking
/// 1080p to 320x180 gray for motion detection: area averaging when
/// shrinking, bicubic otherwise. The swscale context is built once per
/// geometry and thread and reused (the last four are kept). Both layouts are
/// checked against their buffers (INVALID_ARGUMENT / BUFFER_TOO_SMALL).
#[napi(ts_args_type = "src: Uint8Array, srcLayout: FrameLayoutInput, dst: Uint8Array, dstLayout: FrameLayoutInput")]
pub fn scale_into(
  env: Env,
  mut src: ByteView,
  src_layout: FrameLayoutInput,
  mut dst: ByteView,
  dst_layout: FrameLayoutInput,
) -> napi::Result<(), ErrorCode> {
  let result = (|| -> HeartResult<()> {
    let sl = to_layout(src_layout)?;
    let dl = to_layout(dst_layout)?;
    check_layout(&sl, src.len, "srcLayout")?;
    check_layout(&dl, dst.len, "dstLayout")?;
    let mut ptrs = [ptr::null_mut::<u8>(); 4];
    let mut strides = [0 as c_int; 4];
    for (i, p) in dl.planes.iter().enumerate() {
      // SAFETY: offsets were checked against dst.len.
      ptrs[i] = unsafe { dst.ptr.add(p.offset as usize) };
      strides[i] = p.stride as c_int;
    }
    sws_into(&src, &sl, ptrs, strides, dl.width, dl.height, dl.pix_fmt.av())
  })();
  src.release(&env);
  dst.release(&env);
  result.map_err(Into::into)
}

struct JpegState {
  enc: *mut ffi::AVCodecContext,
  frame: *mut ffi::AVFrame,
  pkt: *mut ffi::AVPacket,
  /// Output size and quality the encoder was opened for.
  key: (u32, u32, u32),
  next_pts: i64,
}
impl Drop for JpegState {
  fn drop(&mut self) {
    // SAFETY: owned or null.
    unsafe {
      ffi::avcodec_free_context(&mut self.enc);
      ffi::av_frame_free(&mut self.frame);
      ffi::av_packet_free(&mut self.pkt);
    }
  }
}

thread_local! {
  /// The encoder of the last size and quality this thread encoded. A consumer
  /// encodes the same geometry frame after frame; opening an encoder and its
  /// frame for every call allocated and freed several MB each time, and at
  /// 15 JPEGs a second that churn grew the worker's malloc arena for minutes
  /// (the soak's RSS drift, bench/results/README.md).
  static JPEG_ENCODER: std::cell::RefCell<Option<JpegState>> = const { std::cell::RefCell::new(None) };
}

fn open_jpeg(width: u32, height: u32, quality: u32) -> HeartResult<JpegState> {
  crate::init::ffmpeg_init();
  // SAFETY: standard encoder setup; every object is owned by the state and freed by its Drop.
  unsafe {
    let codec = ffi::avcodec_find_encoder(ffi::AV_CODEC_ID_MJPEG);
    if codec.is_null() {
      return Err(HeartError::new(ErrorCode::EncodeError, "this FFmpeg build has no mjpeg encoder"));
    }
    let s = JpegState {
      enc: ffi::avcodec_alloc_context3(codec),
      frame: ffi::av_frame_alloc(),
      pkt: ffi::av_packet_alloc(),
      key: (width, height, quality),
      next_pts: 0,
    };
    if s.enc.is_null() || s.frame.is_null() || s.pkt.is_null() {
      return Err(HeartError::new(ErrorCode::Internal, "out of memory"));
    }
    // Full-range 4:2:0 is what JPEG viewers expect; swscale converts range and format in its one pass.
    (*s.enc).width = width as c_int;
    (*s.enc).height = height as c_int;
    (*s.enc).pix_fmt = ffi::AV_PIX_FMT_YUVJ420P;
    (*s.enc).time_base = ffi::AVRational { num: 1, den: 25 };
    (*s.enc).flags |= ffi::AV_CODEC_FLAG_QSCALE as c_int;
    let q = 2 + (100 - quality.clamp(1, 100)) * 29 / 99; // 100 -> 2 (best), 1 -> 31
    (*s.enc).global_quality = q as c_int * ffi::FF_QP2LAMBDA as c_int;
    (*s.enc).qmin = q as c_int;
    (*s.enc).qmax = q as c_int;
    let r = ffi::avcodec_open2(s.enc, codec, ptr::null_mut());
    if r < 0 {
      return Err(HeartError::new(
        ErrorCode::EncodeError,
        format!("cannot open the JPEG encoder ({})", crate::error::av_error_text(r)),
      ));
    }
    (*s.frame).format = ffi::AV_PIX_FMT_YUVJ420P;
    (*s.frame).width = width as c_int;
    (*s.frame).height = height as c_int;
    let r = ffi::av_frame_get_buffer(s.frame, 0);
    if r < 0 {
      return Err(map_error(r, "allocating", "a JPEG frame"));
    }
    Ok(s)
  }
}

/// Encodes one frame with `s` (MJPEG is intra-only and has no delay: each
/// frame sent comes straight back as a packet) and hands the packet's bytes
/// to `out`.
fn encode_with<T>(s: &mut JpegState, src: &ByteView, layout: &Layout, out: impl FnOnce(&[u8]) -> T) -> HeartResult<T> {
  let (width, height, _) = s.key;
  // SAFETY: the state's objects are open and owned; the packet is unreferenced before returning.
  unsafe {
    // The encoder holds no reference to the previous frame, so this is normally free; it copies if it does.
    let r = ffi::av_frame_make_writable(s.frame);
    if r < 0 {
      return Err(map_error(r, "allocating", "a JPEG frame"));
    }
    let mut ptrs = [ptr::null_mut::<u8>(); 4];
    let mut strides = [0 as c_int; 4];
    let frame = &*s.frame;
    ptrs[..3].copy_from_slice(&frame.data[..3]);
    strides[..3].copy_from_slice(&frame.linesize[..3]);
    sws_into(src, layout, ptrs, strides, width, height, ffi::AV_PIX_FMT_YUVJ420P)?;
    (*s.frame).quality = (*s.enc).global_quality;
    (*s.frame).pts = s.next_pts;
    s.next_pts += 1;
    let r = ffi::avcodec_send_frame(s.enc, s.frame);
    if r < 0 {
      return Err(HeartError::new(
        ErrorCode::EncodeError,
        format!("JPEG encoding failed ({})", crate::error::av_error_text(r)),
      ));
    }
    let r = ffi::avcodec_receive_packet(s.enc, s.pkt);
    if r < 0 || r == AVERROR_EAGAIN || r == AVERROR_EOF {
      return Err(HeartError::new(
        ErrorCode::EncodeError,
        format!("JPEG encoding produced nothing ({})", crate::error::av_error_text(r)),
      ));
    }
    let result = out(std::slice::from_raw_parts((*s.pkt).data, (*s.pkt).size as usize));
    ffi::av_packet_unref(s.pkt);
    Ok(result)
  }
}

/// Encodes with this thread's cached encoder (reopened when the size or
/// quality changes). After a failure the encoder is dropped and the next
/// call opens a fresh one.
fn encode<T>(
  src: &ByteView,
  layout: &Layout,
  width: u32,
  height: u32,
  quality: u32,
  out: impl FnOnce(&[u8]) -> T,
) -> HeartResult<T> {
  let key = (width, height, quality);
  let cached = JPEG_ENCODER.with(|c| c.borrow_mut().take()).filter(|s| s.key == key);
  let mut state = match cached {
    Some(s) => s,
    None => open_jpeg(width, height, quality)?,
  };
  let result = encode_with(&mut state, src, layout, out)?;
  JPEG_ENCODER.with(|c| *c.borrow_mut() = Some(state));
  Ok(result)
}

/// Encodes the frame in `src` (laid out as `layout`, any ring pixel format)
/// as a baseline JPEG, scaled to `options.width` x `options.height` (default:
/// the frame's size; give one side to keep the aspect ratio) at
/// `options.quality` 1..100 (default 80). Conversion happens natively in one
/// swscale pass; no RGB detour in JS. Throws INVALID_ARGUMENT /
/// BUFFER_TOO_SMALL for a layout that does not fit `src`, ENCODE_ERROR if
/// the encoder fails.
#[napi(ts_args_type = "src: Uint8Array, layout: FrameLayoutInput, options?: JpegOptions | null")]
pub fn encode_jpeg(
  env: &Env,
  mut src: ByteView,
  layout: FrameLayoutInput,
  options: Option<JpegOptions>,
) -> napi::Result<BufferSlice<'_>, ErrorCode> {
  let result = (|| -> HeartResult<BufferSlice<'_>> {
    let l = to_layout(layout)?;
    check_layout(&l, src.len, "layout")?;
    let o = options.unwrap_or(JpegOptions { width: None, height: None, quality: None });
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let (w, h) = match (o.width, o.height) {
      (Some(w), Some(h)) => (w, h),
      (Some(w), None) => (w, even(w as f64 * l.height as f64 / l.width as f64)),
      (None, Some(h)) => (even(h as f64 * l.width as f64 / l.height as f64), h),
      (None, None) => (l.width, l.height),
    };
    if !(1..=16384).contains(&w) || !(1..=16384).contains(&h) {
      return Err(HeartError::invalid(format!("JPEG size {w}x{h} is out of range")));
    }
    let quality = o.quality.unwrap_or(80);
    if !(1..=100).contains(&quality) {
      return Err(HeartError::invalid(format!("quality must be 1..100, got {quality}")));
    }
    // Straight from the packet into a Buffer Node allocates (a worker
    // encoding in a loop reached 700 MB when it was an external buffer).
    encode(&src, &l, w, h, quality, |bytes| node_buffer(env, bytes))?
  })();
  src.release(env);
  result.map_err(Into::into)
}
