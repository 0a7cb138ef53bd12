//! The movement detector's per-cell stages (@heart/vision's MotionDetector
//! keeps the calibration logic, the masks and the region labelling): the
//! block average read in place from a ring slot's luma plane, the blur, the
//! difference against the background, the dilation and the background
//! update. In JavaScript these cost about 1.7 ms a 1080p frame; here the
//! loops are written over slices with no carried state across x, so the
//! compiler turns them into SIMD.
//!
//! Every buffer the detector reads across frames (background, previous
//! frame, masks) belongs to the caller and is passed as a typed array, read
//! and written in place (`&[u8]` / `&mut [i32]` borrow the array's memory:
//! no copy, and unlike a `ByteView` no reference to create and delete, so a
//! call allocates nothing). The scratch that lives only inside one call is
//! owned here, sized once per geometry.

use napi::bindgen_prelude::{Int32ArraySlice, Uint16ArraySlice, Uint32ArraySlice, Uint8ArraySlice};
use napi_derive::napi;

use crate::error::{ErrorCode, HeartError, HeartResult};

/// Signed differences -255..=255, plus one spare bin (511) that collects what
/// must not be counted (masked cells, and differences outside that range).
const HIST_BINS: usize = 511;
const SUB_BINS: usize = 512;
/// Interleaved histograms: consecutive cells of a noisy but flat scene fall
/// in the same bin, and one histogram would make every increment wait for
/// the previous store to the same counter.
const SUB_HISTS: usize = 4;
/// The background is luma << BG_SHIFT (8 fraction bits), as in the JS side.
const BG_SHIFT: i32 = 8;
const BG_HALF: i32 = 1 << (BG_SHIFT - 1);

/// Defines a kernel compiled twice on x86-64: as built (SSE2, the baseline
/// of the target) and for AVX2, picked at run time when the CPU has it
/// (`is_x86_feature_detected!` caches its answer). The loops are the same
/// source; AVX2 doubles the lanes of every vector the compiler makes of them.
/// Other targets (aarch64: NEON is the baseline) build the one version.
macro_rules! kernel {
  ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
    $(#[$meta])*
    #[allow(clippy::too_many_arguments)]
    fn $name($($arg: $ty),*) $(-> $ret)? {
      #[inline(always)]
      #[allow(clippy::too_many_arguments)]
      fn generic($($arg: $ty),*) $(-> $ret)? $body
      #[cfg(target_arch = "x86_64")]
      {
        #[target_feature(enable = "avx2")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
          generic($($arg),*)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
          // SAFETY: the CPU has AVX2.
          return unsafe { avx2($($arg),*) };
        }
      }
      generic($($arg),*)
    }
  };
}

/// The per-cell stages for one frame geometry and one set of filter radii.
#[napi]
pub struct MotionGrid {
  factor: usize,
  width: usize,
  height: usize,
  sample: bool,
  blur_radius: usize,
  dilate_radius: usize,
  /// Vertical sums of one band of `factor` frame rows (u16: 64 rows of 255 fit).
  band: Vec<u16>,
  /// The block-averaged grid before the blur.
  small: Vec<u8>,
  /// Horizontal blur sums.
  blur_rows: Vec<u16>,
  /// Vertical running sums (blur).
  columns: Vec<u32>,
  /// Horizontal dilation.
  dilated_rows: Vec<u8>,
  /// Histogram bin of each cell (compare's second pass).
  bins: Vec<u16>,
  sub_hist: Vec<u32>,
  /// Provisional label of each cell, the union-find over labels, and the
  /// region index of each root (labelling).
  labels: Vec<u32>,
  parent: Vec<u32>,
  region_of: Vec<u32>,
}

/// Entries per region in `label`'s output: min x, min y, max x, max y, area, active.
pub const REGION_FIELDS: usize = 6;

fn too_small(what: &str, need: usize, got: usize) -> HeartError {
  HeartError::new(ErrorCode::BufferTooSmall, format!("MotionGrid: {what} needs {need} elements, got {got}"))
}

fn check(what: &str, len: usize, need: usize) -> HeartResult<()> {
  if len < need {
    return Err(too_small(what, need, len));
  }
  Ok(())
}

#[napi]
impl MotionGrid {
  /// A grid of floor(frameWidth / factor) x floor(frameHeight / factor)
  /// cells. `sample` reads the centre pixel of each block instead of
  /// averaging it; the radii are in cells (0 turns a filter off).
  #[napi(constructor)]
  pub fn new(
    frame_width: u32,
    frame_height: u32,
    factor: u32,
    sample: bool,
    blur_radius: u32,
    dilate_radius: u32,
  ) -> napi::Result<Self, ErrorCode> {
    if !(1..=64).contains(&factor)
      || blur_radius > 16
      || dilate_radius > 16
      || frame_width > 16384
      || frame_height > 16384
    {
      return Err(
        HeartError::invalid(format!(
          "MotionGrid: factor {factor} (1..64), blur radius {blur_radius}, dilate radius {dilate_radius} (0..16), frame {frame_width}x{frame_height} (at most 16384)"
        ))
        .into(),
      );
    }
    let f = factor as usize;
    let (width, height) = (frame_width as usize / f, frame_height as usize / f);
    if width == 0 || height == 0 {
      return Err(
        HeartError::invalid(format!(
          "MotionGrid: factor {factor} is larger than the frame ({frame_width}x{frame_height})"
        ))
        .into(),
      );
    }
    let cells = width * height;
    Ok(MotionGrid {
      factor: f,
      width,
      height,
      sample,
      blur_radius: blur_radius as usize,
      dilate_radius: dilate_radius as usize,
      band: vec![0; width * f],
      small: vec![0; cells],
      blur_rows: vec![0; cells],
      columns: vec![0; width],
      dilated_rows: vec![0; cells],
      bins: vec![0; cells],
      sub_hist: vec![0; SUB_HISTS * SUB_BINS],
      labels: vec![0; cells],
      parent: vec![0; cells + 1],
      region_of: vec![0; cells + 1],
    })
  }

  /// Downscales the luma plane `src[offset + y * stride + x]` (read in place)
  /// and blurs it into `cur` (one byte a cell).
  #[napi]
  pub fn reduce(
    &mut self,
    src: &[u8],
    offset: u32,
    stride: u32,
    mut cur: Uint8ArraySlice<'_>,
  ) -> napi::Result<(), ErrorCode> {
    // SAFETY: JS is paused on this thread for the whole call, and the caller
    // passes distinct arrays, so nothing else reads or writes them meanwhile.
    let cur = unsafe { cur.as_mut() };
    let (f, w, h) = (self.factor, self.width, self.height);
    let (offset, stride) = (offset as usize, stride as usize);
    let need = offset + (h * f - 1) * stride + w * f;
    check("the luma plane", src.len(), need)?;
    check("cur", cur.len(), w * h)?;
    if stride < w * f {
      return Err(HeartError::invalid(format!("MotionGrid: stride {stride} is less than {} pixels", w * f)).into());
    }
    if self.sample {
      sample_blocks(src, offset, stride, f, w, h, &mut self.small);
    } else {
      average_blocks(src, offset, stride, f, w, h, &mut self.band, &mut self.small);
    }
    let r = self.blur_radius;
    blur(&self.small, &mut cur[..w * h], w, h, r, &mut self.blur_rows, &mut self.columns);
    Ok(())
  }

  /// Marks the cells that differ from the background by more than
  /// `threshold` (`fg`) and from the previous frame (`moving`), counts them
  /// per row (`fgRows`) and in all (return value; `tally[0]` gets the moving
  /// count), histograms the signed difference (`hist`, 511 bins for
  /// -255..255) and copies `cur` into `prev`. Masked cells (`ignore` 1)
  /// count nowhere.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn compare(
    &mut self,
    cur: &[u8],
    bg: &[i32],
    mut prev: Uint8ArraySlice<'_>,
    ignore: &[u8],
    threshold: i32,
    mut fg: Uint8ArraySlice<'_>,
    mut moving: Uint8ArraySlice<'_>,
    mut hist: Uint32ArraySlice<'_>,
    mut fg_rows: Int32ArraySlice<'_>,
    mut tally: Int32ArraySlice<'_>,
  ) -> napi::Result<u32, ErrorCode> {
    // SAFETY: JS is paused on this thread for the whole call, and the caller
    // passes distinct arrays, so nothing else reads or writes them meanwhile.
    let (prev, fg, moving, hist, fg_rows, tally) =
      unsafe { (prev.as_mut(), fg.as_mut(), moving.as_mut(), hist.as_mut(), fg_rows.as_mut(), tally.as_mut()) };
    let (w, h) = (self.width, self.height);
    let n = w * h;
    for (what, len) in [("cur", cur.len()), ("bg", bg.len()), ("prev", prev.len()), ("ignore", ignore.len())] {
      check(what, len, n)?;
    }
    check("fg", fg.len(), n)?;
    check("moving", moving.len(), n)?;
    check("hist", hist.len(), HIST_BINS)?;
    check("fgRows", fg_rows.len(), h)?;
    check("tally", tally.len(), 1)?;
    let (changed, moving_count) = compare_cells(
      &cur[..n],
      &bg[..n],
      &mut prev[..n],
      &ignore[..n],
      threshold,
      fg,
      moving,
      &mut self.bins,
      w,
      fg_rows,
    );
    self.histogram(&mut hist[..HIST_BINS]);
    tally[0] = moving_count as i32;
    Ok(changed)
  }

  /// Dilates `fg` by a (2r+1)² square into `dil` (0/1), skipping rows that
  /// `fgRows` says are empty; `dilRows[y]` gets 1 for a row with a set cell
  /// (before masking). Masked cells (`ignore` 1) are then cleared.
  #[napi]
  pub fn dilate(
    &mut self,
    fg: &[u8],
    fg_rows: &[i32],
    ignore: &[u8],
    mut dil: Uint8ArraySlice<'_>,
    mut dil_rows: Uint8ArraySlice<'_>,
  ) -> napi::Result<(), ErrorCode> {
    // SAFETY: JS is paused on this thread for the whole call, and the caller
    // passes distinct arrays, so nothing else reads or writes them meanwhile.
    let (dil, dil_rows) = unsafe { (dil.as_mut(), dil_rows.as_mut()) };
    let (w, h, r) = (self.width, self.height, self.dilate_radius);
    let n = w * h;
    check("fg", fg.len(), n)?;
    check("ignore", ignore.len(), n)?;
    check("dil", dil.len(), n)?;
    check("fgRows", fg_rows.len(), h)?;
    check("dilRows", dil_rows.len(), h)?;
    let tmp = &mut self.dilated_rows;
    for (y, &count) in fg_rows[..h].iter().enumerate() {
      let row = y * w..(y + 1) * w;
      let out = &mut tmp[row.clone()];
      if count == 0 {
        out.fill(0);
        continue;
      }
      // OR over the clipped window: clamping an index to the edge repeats a
      // cell that is in the window anyway, so it gives the same result.
      window_max(&fg[row], out, r);
    }
    for y in 0..h {
      let first = y.saturating_sub(r);
      let last = (y + r).min(h - 1);
      let out = &mut dil[y * w..(y + 1) * w];
      let any = (first..=last).any(|k| fg_rows[k] != 0);
      dil_rows[y] = any as u8;
      out.fill(0);
      if !any {
        continue;
      }
      for k in first..=last {
        if fg_rows[k] == 0 {
          continue;
        }
        for (o, &v) in out.iter_mut().zip(&tmp[k * w..(k + 1) * w]) {
          *o |= v;
        }
      }
      for (o, &m) in out.iter_mut().zip(&ignore[y * w..(y + 1) * w]) {
        *o &= (m == 0) as u8;
      }
    }
    Ok(())
  }

  /// Learns `cur` into the background after moving all of it by `shift`
  /// levels: at `rate` where nothing was found (`dil` 0), at `fgRate` under
  /// found regions, and at once where a cell has differed without moving for
  /// `absorb` frames in a row (`stuck` counts them).
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn learn(
    &mut self,
    cur: &[u8],
    mut bg: Int32ArraySlice<'_>,
    fg: &[u8],
    dil: &[u8],
    moving: &[u8],
    mut stuck: Uint16ArraySlice<'_>,
    rate: f64,
    fg_rate: f64,
    absorb: u32,
    shift: i32,
  ) -> napi::Result<(), ErrorCode> {
    // SAFETY: JS is paused on this thread for the whole call, and the caller
    // passes distinct arrays, so nothing else reads or writes them meanwhile.
    let (bg, stuck) = unsafe { (bg.as_mut(), stuck.as_mut()) };
    let n = self.width * self.height;
    for (what, len) in [("cur", cur.len()), ("fg", fg.len()), ("dil", dil.len()), ("moving", moving.len())] {
      check(what, len, n)?;
    }
    check("bg", bg.len(), n)?;
    check("stuck", stuck.len(), n)?;
    if !((0.0..=1.0).contains(&rate) && (0.0..=1.0).contains(&fg_rate)) {
      return Err(HeartError::invalid(format!("MotionGrid: rates {rate} and {fg_rate} must be from 0 to 1")).into());
    }
    learn_cells(
      &cur[..n],
      &mut bg[..n],
      &fg[..n],
      &dil[..n],
      &moving[..n],
      &mut stuck[..n],
      rate,
      fg_rate,
      absorb,
      shift << BG_SHIFT,
    );
    Ok(())
  }
}

#[napi]
impl MotionGrid {
  /// Connected regions (8-connectivity) of `connect` (the dilated mask):
  /// two passes with a union-find over provisional labels. A region's box
  /// and area are measured over its cells set in `weight` (the undilated
  /// mask), so dilation joins regions without growing their boxes; `active`
  /// cells (moving) are counted too. Rows that `connectRows` / `weightRows`
  /// mark 0 are skipped. Region k is written to `regions[6k..6k+6]`: min x,
  /// min y, max x, max y, area, active (a region with no weight cells has
  /// area 0 and min > max). Returns the number of regions.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn label(
    &mut self,
    connect: &[u8],
    weight: &[u8],
    active: &[u8],
    connect_rows: &[u8],
    weight_rows: &[i32],
    mut regions: Int32ArraySlice<'_>,
  ) -> napi::Result<u32, ErrorCode> {
    // SAFETY: as in `reduce`.
    let regions = unsafe { regions.as_mut() };
    let (w, h) = (self.width, self.height);
    let n = w * h;
    for (what, len) in [("connect", connect.len()), ("weight", weight.len()), ("active", active.len())] {
      check(what, len, n)?;
    }
    check("connectRows", connect_rows.len(), h)?;
    check("weightRows", weight_rows.len(), h)?;
    let (labels, parent) = (&mut self.labels, &mut self.parent);
    let mut next = 1u32;
    for (y, &set) in connect_rows[..h].iter().enumerate() {
      let row = y * w;
      if set == 0 {
        labels[row..row + w].fill(0);
        continue;
      }
      for x in 0..w {
        let i = row + x;
        if connect[i] == 0 {
          labels[i] = 0;
          continue;
        }
        // Neighbours already visited: W, NW, N, NE. N touches W, NW and NE,
        // so most cells need no union; only NE can still be apart from W or NW.
        let north = if y > 0 { labels[i - w] } else { 0 };
        labels[i] = if north != 0 {
          north
        } else {
          let west = if x > 0 { labels[i - 1] } else { 0 };
          let north_west = if x > 0 && y > 0 { labels[i - w - 1] } else { 0 };
          let north_east = if y > 0 && x + 1 < w { labels[i - w + 1] } else { 0 };
          let left = if west != 0 { west } else { north_west };
          if left != 0 {
            if north_east != 0 {
              merge(parent, left, north_east)
            } else {
              left
            }
          } else if north_east != 0 {
            north_east
          } else {
            let l = next;
            next += 1;
            parent[l as usize] = l;
            l
          }
        };
      }
    }
    // Each root gets a compact region index, in label order.
    let mut count = 0usize;
    for l in 1..next {
      if find(parent, l) == l {
        check("regions", regions.len(), (count + 1) * REGION_FIELDS)?;
        self.region_of[l as usize] = count as u32;
        regions[count * REGION_FIELDS..(count + 1) * REGION_FIELDS].copy_from_slice(&[
          i32::MAX,
          i32::MAX,
          -1,
          -1,
          0,
          0,
        ]);
        count += 1;
      }
    }
    // Every label points at its region directly, so the pass over the cells
    // below is one lookup a cell instead of a walk up the union-find.
    for l in 1..next {
      let root = find(parent, l);
      self.region_of[l as usize] = self.region_of[root as usize];
    }
    let region_of = &self.region_of;
    for (y, &set) in weight_rows[..h].iter().enumerate() {
      if set == 0 {
        continue;
      }
      for x in 0..w {
        let i = y * w + x;
        let l = labels[i];
        if weight[i] == 0 || l == 0 {
          continue;
        }
        let k = region_of[l as usize] as usize * REGION_FIELDS;
        let r = &mut regions[k..k + REGION_FIELDS];
        let (x, y) = (x as i32, y as i32);
        r[0] = r[0].min(x);
        r[1] = r[1].min(y);
        r[2] = r[2].max(x);
        r[3] = r[3].max(y);
        r[4] += 1;
        r[5] += (active[i] != 0) as i32;
      }
    }
    Ok(count as u32)
  }
}

/// The root of label `l`, compressing the path on the way.
fn find(parent: &mut [u32], mut l: u32) -> u32 {
  let mut root = l;
  while parent[root as usize] != root {
    root = parent[root as usize];
  }
  while parent[l as usize] != root {
    let up = parent[l as usize];
    parent[l as usize] = root;
    l = up;
  }
  root
}

/// Joins the sets of two labels; the smaller root becomes the root of both.
fn merge(parent: &mut [u32], a: u32, b: u32) -> u32 {
  let rb = find(parent, b);
  let ra = find(parent, a);
  if ra < rb {
    parent[rb as usize] = ra;
    ra
  } else {
    parent[ra as usize] = rb;
    rb
  }
}

impl MotionGrid {
  /// Sums the interleaved histograms of `self.bins` into `hist`.
  fn histogram(&mut self, hist: &mut [u32]) {
    let sub = &mut self.sub_hist;
    sub.fill(0);
    let n = self.width * self.height;
    let (quads, rest) = self.bins[..n].split_at(n - n % SUB_HISTS);
    for q in quads.chunks_exact(SUB_HISTS) {
      for (k, &b) in q.iter().enumerate() {
        sub[k * SUB_BINS + b as usize] += 1;
      }
    }
    for &b in rest {
      sub[b as usize] += 1;
    }
    for (i, out) in hist.iter_mut().enumerate() {
      *out = (0..SUB_HISTS).map(|k| sub[k * SUB_BINS + i]).sum();
    }
  }
}

/// Sums each run of F columns of a band into one cell.
#[inline(always)]
fn columns_of<const F: usize>(band: &[u16], out: &mut [u8], mul: u32) {
  for (o, block) in out.iter_mut().zip(band.chunks_exact(F)) {
    let mut s = 0u32;
    for &v in block {
      s += v as u32;
    }
    *o = ((s * mul + 32768) >> 16) as u8;
  }
}

/// The centre pixel of each block (cheaper, noisier).
fn sample_blocks(src: &[u8], offset: usize, stride: usize, f: usize, w: usize, h: usize, small: &mut [u8]) {
  let c = f / 2;
  for gy in 0..h {
    let row = offset + (gy * f + c) * stride + c;
    for (gx, o) in small[gy * w..(gy + 1) * w].iter_mut().enumerate() {
      *o = src[row + gx * f];
    }
  }
}

/// out[x] = sum of row[x - r ..= x + r], indices clamped to the row.
#[inline(always)]
fn window_sum(row: &[u8], out: &mut [u16], r: usize) {
  let last = row.len() as isize - 1;
  let edge =
    |x: usize| (-(r as isize)..=(r as isize)).map(|k| row[(x as isize + k).clamp(0, last) as usize] as u16).sum();
  sliding(row, out, r, |s, v| s + v as u16, edge);
}

/// out[x] = max of row[x - r ..= x + r] (an OR on 0/1 cells), clipped to the row.
fn window_max(row: &[u8], out: &mut [u8], r: usize) {
  let last = row.len() - 1;
  let edge = |x: usize| row[x.saturating_sub(r)..=(x + r).min(last)].iter().fold(0, |a, &v| a | v);
  sliding(row, out, r, |a, v| a | v, edge);
}

/// out[x] = row[x - r ..= x + r] folded with `add`; `edge(x)` gives the
/// cells within r of an end, where the window needs clamping. The interior
/// needs none: one pass per tap over the whole row, each a plain SIMD op.
#[inline(always)]
fn sliding<T: Copy + Default>(
  row: &[u8],
  out: &mut [T],
  r: usize,
  add: impl Fn(T, u8) -> T,
  edge: impl Fn(usize) -> T,
) {
  let w = row.len();
  if w <= 2 * r {
    for (x, o) in out.iter_mut().enumerate() {
      *o = edge(x);
    }
    return;
  }
  let inner = &mut out[r..w - r];
  inner.fill(T::default());
  for k in 0..=2 * r {
    for (o, &v) in inner.iter_mut().zip(&row[k..]) {
      *o = add(*o, v);
    }
  }
  for x in (0..r).chain(w - r..w) {
    out[x] = edge(x);
  }
}

kernel! {
  /// Block average: each band of `f` rows is summed column by column (wide,
  /// contiguous: SIMD), then each run of `f` columns.
  fn average_blocks(src: &[u8], offset: usize, stride: usize, f: usize, w: usize, h: usize, band: &mut [u16], small: &mut [u8]) {
    let span = w * f;
    // (sum * mul + 2^15) >> 16 divides by f² with rounding, as the JS did.
    let mul = (65536.0 / (f * f) as f64).round() as u32;
    for gy in 0..h {
      let top = offset + gy * f * stride;
      let out = &mut small[gy * w..(gy + 1) * w];
      if f == 1 {
        out.copy_from_slice(&src[top..top + w]);
        continue;
      }
      let band = &mut band[..span];
      for (a, &p) in band.iter_mut().zip(&src[top..top + span]) {
        *a = p as u16;
      }
      for k in 1..f {
        let row = top + k * stride;
        for (a, &p) in band.iter_mut().zip(&src[row..row + span]) {
          *a += p as u16;
        }
      }
      match f {
        2 => columns_of::<2>(band, out, mul),
        3 => columns_of::<3>(band, out, mul),
        4 => columns_of::<4>(band, out, mul),
        5 => columns_of::<5>(band, out, mul),
        6 => columns_of::<6>(band, out, mul),
        8 => columns_of::<8>(band, out, mul),
        _ => {
          for (o, block) in out.iter_mut().zip(band.chunks_exact(f)) {
            let s: u32 = block.iter().map(|&v| v as u32).sum();
            *o = ((s * mul + 32768) >> 16) as u8;
          }
        }
      }
    }
  }
}

kernel! {
  /// Box blur of radius r (a (2r+1)² mean) with the edges replicated.
  fn blur(src: &[u8], dst: &mut [u8], w: usize, h: usize, r: usize, tmp: &mut [u16], cols: &mut [u32]) {
    if r == 0 {
      dst.copy_from_slice(src);
      return;
    }
    for y in 0..h {
      window_sum(&src[y * w..(y + 1) * w], &mut tmp[y * w..(y + 1) * w], r);
    }
    let taps = (2 * r + 1) * (2 * r + 1);
    let mul = (65536.0 / taps as f64).round() as u32;
    let last = h - 1;
    cols.fill(0);
    for k in -(r as isize)..=(r as isize) {
      let y = k.clamp(0, last as isize) as usize;
      for (c, &v) in cols.iter_mut().zip(&tmp[y * w..(y + 1) * w]) {
        *c += v as u32;
      }
    }
    for y in 0..h {
      let add = &tmp[(y + r + 1).min(last) * w..][..w];
      let sub = &tmp[y.saturating_sub(r) * w..][..w];
      let out = &mut dst[y * w..(y + 1) * w];
      for x in 0..w {
        let s = cols[x];
        out[x] = ((s * mul + 32768) >> 16) as u8;
        cols[x] = s + add[x] as u32 - sub[x] as u32;
      }
    }
  }
}

kernel! {
  /// The difference and threshold of every cell, row by row; returns the
  /// changed and the moving cell counts. `bins` gets each cell's histogram
  /// bin for the scalar pass that follows.
  fn compare_cells(
    cur: &[u8],
    bg: &[i32],
    prev: &mut [u8],
    ignore: &[u8],
    thr: i32,
    fg: &mut [u8],
    moving: &mut [u8],
    bins: &mut [u16],
    w: usize,
    fg_rows: &mut [i32],
  ) -> (u32, u32) {
    let mut changed = 0u32;
    let mut moving_count = 0u32;
    let h = cur.len() / w;
    for (y, row_count) in fg_rows[..h].iter_mut().enumerate() {
      let r = y * w..(y + 1) * w;
      let (cur, bg, ignore) = (&cur[r.clone()], &bg[r.clone()], &ignore[r.clone()]);
      let (prev, fg, moving, bins) = (&mut prev[r.clone()], &mut fg[r.clone()], &mut moving[r.clone()], &mut bins[r]);
      let mut row_changed = 0u32;
      let mut row_moving = 0u32;
      for x in 0..w {
        let c = cur[x] as i32;
        let keep = ignore[x] == 0;
        let m = c - prev[x] as i32;
        let mv = (keep & (m > thr || m < -thr)) as u8;
        let d = ((c << BG_SHIFT) - bg[x] + BG_HALF) >> BG_SHIFT;
        let fc = (keep & (d > thr || d < -thr)) as u8;
        // Out of range (a background pushed past 0..255 by the global
        // shift) counts nowhere, as a write past a JS typed array's end.
        let bin = d + 255;
        bins[x] = if keep && (0..HIST_BINS as i32).contains(&bin) { bin as u16 } else { HIST_BINS as u16 };
        moving[x] = mv;
        fg[x] = fc;
        prev[x] = cur[x];
        row_moving += mv as u32;
        row_changed += fc as u32;
      }
      *row_count = row_changed as i32;
      changed += row_changed;
      moving_count += row_moving;
    }
    (changed, moving_count)
  }
}

kernel! {
  /// The background update of every cell, without branches (each cell's
  /// case is a select) so it vectorises. `s` is the global shift in
  /// background units.
  fn learn_cells(
    cur: &[u8],
    bg: &mut [i32],
    fg: &[u8],
    dil: &[u8],
    moving: &[u8],
    stuck: &mut [u16],
    rate: f64,
    fg_rate: f64,
    absorb: u32,
    s: i32,
  ) {
    let n = cur.len();
    let (bg, fg, dil, moving, stuck) = (&mut bg[..n], &fg[..n], &dil[..n], &moving[..n], &mut stuck[..n]);
    for i in 0..n {
      let c = (cur[i] as i32) << BG_SHIFT;
      let b = bg[i] + s;
      let d = (c - b) as f64;
      // Truncation toward zero, as JS's `| 0`. `as i32` would also saturate
      // NaN and out-of-range values, and that extra code kept the loop scalar.
      // SAFETY: d is an i32 and both rates are in 0..=1 (checked by learn),
      // so each product is finite and within i32.
      let (slow, fast) = unsafe { (b + (d * rate).to_int_unchecked::<i32>(), b + (d * fg_rate).to_int_unchecked::<i32>()) };
      let found = dil[i] != 0;
      // Under a found region, a cell that differs from the background but
      // did not move counts a frame towards being absorbed.
      let holding = found & (moving[i] == 0) & (fg[i] != 0);
      let held = stuck[i] as u32 + 1;
      let absorbed = holding & (held >= absorb);
      bg[i] = if !found { slow } else if absorbed { c } else { fast };
      stuck[i] = if holding & !absorbed { held as u16 } else { 0 };
    }
  }
}
