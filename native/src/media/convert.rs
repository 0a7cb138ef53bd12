//! Convert: negotiate the output layout for the decoded geometry, then the
//! one copy from the decoded frame into the caller's buffer (crop, scale and
//! pixel format on the way).

use std::os::raw::c_int;
use std::ptr;

use super::{pix_fmt_name, Pipeline};
use crate::error::{map_error, ErrorCode, HeartError, HeartResult};
use crate::ffi;
use crate::layout::{frame_layout, Layout};

impl Pipeline {
  pub(super) fn current(&self) -> *mut ffi::AVFrame {
    if self.held_is_sw {
      self.sw_frame
    } else {
      self.frame
    }
  }

  pub(super) fn current_geometry(&self) -> (u32, u32, c_int) {
    let f = self.current();
    // SAFETY: current() holds a decoded software frame.
    unsafe { ((*f).width as u32, (*f).height as u32, (*f).format) }
  }

  /// Works out the output layout for a source geometry: crop inside the
  /// source, output size (keeping the crop's aspect when only one side is
  /// given), limits.
  pub(super) fn negotiate(&mut self, geom: (u32, u32, c_int)) -> HeartResult<()> {
    let (w, h, fmt) = geom;
    self.check_expectations(w, h)?;
    let (cw, ch) = match &self.cfg.output.crop {
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
    let (ow, oh) = match (self.cfg.output.width, self.cfg.output.height) {
      (Some(ow), Some(oh)) => (ow, oh),
      (Some(ow), None) => (ow, even(ow as f64 * ch as f64 / cw as f64)),
      (None, Some(oh)) => (even(oh as f64 * cw as f64 / ch as f64), oh),
      (None, None) => (cw, ch),
    };
    self.facts.width = w;
    self.facts.height = h;
    self.facts.pix_fmt = pix_fmt_name(fmt);
    self.src_geom = Some(geom);
    self.layout = Some(frame_layout(ow, oh, self.cfg.output.pix_fmt));
    Ok(())
  }

  /// The one copy: decoded frame -> destination, cropping, scaling and
  /// converting on the way with swscale (or a plain row copy when nothing
  /// changes).
  pub(super) fn convert_into(&mut self, layout: &Layout, dst: *mut u8) -> HeartResult<()> {
    let f = self.current();
    // SAFETY: f holds a decoded software frame; dst has at least layout.byte_length
    // bytes (checked by the caller) and every write below stays inside the planes
    // of `layout`.
    unsafe {
      if let Some(c) = &self.cfg.output.crop {
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
          let row_bytes = layout.pix_fmt.row_bytes(i, plane.width as usize);
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
