//! Init and abort: FFmpeg's one-time process setup, and the flags every
//! blocking FFmpeg call watches (through the interrupt callback) so nothing
//! blocks past close(), an AbortSignal or a deadline.

use std::ffi::c_void;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Once;

use crate::clock::now_ns;
use crate::error::{ErrorCode, HeartError, HeartResult};
use crate::ffi;

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
  pub(crate) fn arm(&self, timeout_ms: u32) {
    self.deadline_ns.store(now_ns() + timeout_ms as u64 * 1_000_000, Ordering::SeqCst);
  }
  /// Ends the current blocking step; says whether its deadline had passed.
  pub(crate) fn disarm(&self) -> bool {
    let expired = self.expired();
    self.deadline_ns.store(0, Ordering::SeqCst);
    expired
  }
  pub(crate) fn expired(&self) -> bool {
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

pub(crate) unsafe extern "C" fn interrupt_callback(opaque: *mut c_void) -> c_int {
  // SAFETY: opaque is the AbortFlags the Pipeline keeps alive (Arc) for as long as the format context.
  let flags = unsafe { &*(opaque as *const AbortFlags) };
  (flags.is_aborted() || flags.expired()) as c_int
}
