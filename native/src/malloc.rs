//! How glibc's malloc treats FFmpeg's large, short-lived buffers.
//!
//! FFmpeg's MJPEG encoder allocates a worst-case packet buffer for every
//! frame (about 6 MB at 960x540, 25 MB at 1080p) and frees it once the JPEG
//! is copied out. glibc starts by serving such sizes with mmap, but after the
//! first one is freed it raises its mmap threshold to that size (the
//! "dynamic threshold"), and from then on serves them from the thread's
//! arena. At 15-20 JPEGs a second the encoder threads' arenas then grew for
//! minutes (the soak's RSS drift, bench/results/README.md). With a fixed
//! threshold these buffers stay mmapped: freeing returns them to the system,
//! and only the pages the encoder writes are ever touched.

use std::sync::Once;

/// Allocations this large or larger are always mmapped (glibc's default starting value is 128 KiB).
const MMAP_THRESHOLD_BYTES: i32 = 512 * 1024;

/// Fixes glibc's mmap threshold once per process, unless the user set one
/// (MALLOC_MMAP_THRESHOLD_ or a glibc.malloc.mmap_threshold tunable).
pub fn fix_mmap_threshold() {
  static ONCE: Once = Once::new();
  ONCE.call_once(|| {
    let user_set = std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
      || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("mmap_threshold"));
    if !user_set {
      set_threshold(MMAP_THRESHOLD_BYTES);
    }
  });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_threshold(bytes: i32) {
  // SAFETY: mallopt only changes a malloc parameter; any thread may call it.
  unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, bytes) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_threshold(_bytes: i32) {}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
  use super::*;

  /// Blocks glibc currently serves with mmap.
  fn mmapped_blocks() -> usize {
    // SAFETY: mallinfo2 only reads malloc's statistics.
    unsafe { libc::mallinfo2() }.hblks
  }

  #[test]
  fn large_buffers_stay_mmapped_after_one_is_freed() {
    fix_mmap_threshold();
    let size = 4 << 20;
    for round in 0..3 {
      let before = mmapped_blocks();
      // SAFETY: a plain allocation, written once and freed below.
      let p = unsafe { libc::malloc(size) };
      assert!(!p.is_null());
      unsafe { std::ptr::write_volatile(p as *mut u8, 1) };
      let during = mmapped_blocks();
      unsafe { libc::free(p) };
      // With glibc's dynamic threshold the second 4 MB block would come from
      // the arena (the first free raises the threshold to 4 MB).
      assert!(during > before, "round {round}: a 4 MB block was not mmapped ({before} -> {during} mmapped blocks)");
    }
  }
}
