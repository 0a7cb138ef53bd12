//! The frame layout inside a ring slot. Must match `frameLayout()` in
//! packages/ring/src/pixel-format.ts: planes packed one after the other, each
//! row padded to a multiple of 64 bytes.

use napi_derive::napi;

use crate::error::{HeartError, HeartResult};
use crate::ffi;

pub const ROW_ALIGN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixFmt {
  Yuv420p,
  Nv12,
  Gray,
  Rgb24,
  Bgr24,
}

impl PixFmt {
  pub fn parse(name: &str) -> HeartResult<PixFmt> {
    match name {
      "yuv420p" => Ok(PixFmt::Yuv420p),
      "nv12" => Ok(PixFmt::Nv12),
      "gray" | "gray8" => Ok(PixFmt::Gray),
      "rgb24" => Ok(PixFmt::Rgb24),
      "bgr24" => Ok(PixFmt::Bgr24),
      other => Err(HeartError::invalid(format!(
        "unknown pixel format '{other}'; use one of yuv420p, nv12, gray, rgb24, bgr24"
      ))),
    }
  }

  pub fn name(self) -> &'static str {
    match self {
      PixFmt::Yuv420p => "yuv420p",
      PixFmt::Nv12 => "nv12",
      PixFmt::Gray => "gray",
      PixFmt::Rgb24 => "rgb24",
      PixFmt::Bgr24 => "bgr24",
    }
  }

  /// Bytes one row of `plane` holds for a plane `plane_width` samples wide:
  /// the one home of this rule (packed RGB has 3 bytes a pixel, nv12's
  /// second plane interleaves U and V, every other plane 1 byte a sample).
  pub fn row_bytes(self, plane: usize, plane_width: usize) -> usize {
    match self {
      PixFmt::Rgb24 | PixFmt::Bgr24 => plane_width * 3,
      PixFmt::Nv12 if plane == 1 => plane_width * 2,
      _ => plane_width,
    }
  }

  pub fn av(self) -> ffi::AVPixelFormat {
    match self {
      PixFmt::Yuv420p => ffi::AV_PIX_FMT_YUV420P,
      PixFmt::Nv12 => ffi::AV_PIX_FMT_NV12,
      PixFmt::Gray => ffi::AV_PIX_FMT_GRAY8,
      PixFmt::Rgb24 => ffi::AV_PIX_FMT_RGB24,
      PixFmt::Bgr24 => ffi::AV_PIX_FMT_BGR24,
    }
  }
}

/// Where one plane sits inside a frame buffer, in bytes.
#[napi(object)]
#[derive(Clone, Debug, PartialEq)]
pub struct PlaneLayout {
  /// Byte offset of the plane's first row from the start of the buffer.
  pub offset: u32,
  /// Bytes from one row to the next (a multiple of 64).
  pub stride: u32,
  /// Samples per row (pixels; for nv12's interleaved UV plane: UV pairs).
  pub width: u32,
  /// Rows.
  pub height: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
  pub width: u32,
  pub height: u32,
  pub pix_fmt: PixFmt,
  pub byte_length: usize,
  pub planes: Vec<PlaneLayout>,
}

fn align(bytes: usize) -> usize {
  bytes.div_ceil(ROW_ALIGN) * ROW_ALIGN
}

pub fn frame_layout(width: u32, height: u32, pix_fmt: PixFmt) -> Layout {
  let (w, h) = (width as usize, height as usize);
  let (hw, hh) = (w.div_ceil(2), h.div_ceil(2));
  // [plane width in samples, rows]
  let specs: Vec<(usize, usize)> = match pix_fmt {
    PixFmt::Yuv420p => vec![(w, h), (hw, hh), (hw, hh)],
    PixFmt::Nv12 => vec![(w, h), (hw, hh)],
    PixFmt::Gray | PixFmt::Rgb24 | PixFmt::Bgr24 => vec![(w, h)],
  };
  let mut offset = 0usize;
  let mut planes = Vec::with_capacity(specs.len());
  for (i, (plane_width, rows)) in specs.into_iter().enumerate() {
    let stride = align(pix_fmt.row_bytes(i, plane_width));
    planes.push(PlaneLayout {
      offset: offset as u32,
      stride: stride as u32,
      width: plane_width as u32,
      height: rows as u32,
    });
    offset += stride * rows;
  }
  Layout { width, height, pix_fmt, byte_length: offset, planes }
}

/// Checks a caller-described layout (for scaleInto / encodeJpeg) against the
/// buffer it describes, so a wrong offset can never reach outside it.
pub fn check_layout(layout: &Layout, buffer_len: usize, what: &str) -> HeartResult<()> {
  let expected_planes = frame_layout(layout.width, layout.height, layout.pix_fmt).planes.len();
  if layout.planes.len() != expected_planes {
    return Err(HeartError::invalid(format!(
      "{what}: {} needs {expected_planes} planes, the layout has {}",
      layout.pix_fmt.name(),
      layout.planes.len()
    )));
  }
  let reference = frame_layout(layout.width, layout.height, layout.pix_fmt);
  for (i, (p, r)) in layout.planes.iter().zip(reference.planes.iter()).enumerate() {
    let row_bytes = (r.stride as usize).min(layout.pix_fmt.row_bytes(i, r.width as usize));
    if (p.stride as usize) < row_bytes || p.height < r.height {
      return Err(HeartError::invalid(format!(
        "{what}: plane {i} stride {} / height {} too small for {}x{} {}",
        p.stride,
        p.height,
        layout.width,
        layout.height,
        layout.pix_fmt.name()
      )));
    }
    let end = p.offset as usize + p.stride as usize * (r.height as usize - 1) + row_bytes;
    if end > buffer_len {
      return Err(HeartError::new(
        crate::error::ErrorCode::BufferTooSmall,
        format!("{what}: plane {i} ends at byte {end} but the buffer has {buffer_len} bytes"),
      ));
    }
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn matches_the_ring_contract() {
    let l = frame_layout(1920, 1080, PixFmt::Yuv420p);
    assert_eq!(l.planes[0], PlaneLayout { offset: 0, stride: 1920, width: 1920, height: 1080 });
    assert_eq!(l.planes[1], PlaneLayout { offset: 1920 * 1080, stride: 960, width: 960, height: 540 });
    assert_eq!(l.byte_length, 1920 * 1080 * 3 / 2);
    let odd = frame_layout(33, 17, PixFmt::Nv12);
    assert_eq!(odd.planes[0].stride, 64);
    assert_eq!(odd.planes[1], PlaneLayout { offset: 64 * 17, stride: 64, width: 17, height: 9 });
    let rgb = frame_layout(100, 10, PixFmt::Rgb24);
    assert_eq!(rgb.planes[0].stride, 320);
    assert_eq!(rgb.byte_length, 3200);
  }
}
