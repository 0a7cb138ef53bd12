use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

/// CLOCK_MONOTONIC in nanoseconds: the clock every heart timestamp uses.
pub fn now_ns() -> u64 {
  let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
  // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists on Linux.
  unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
  ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The current CLOCK_MONOTONIC time in nanoseconds, the same clock as
/// `process.hrtime.bigint()`, so native frame stamps and JS stamps compare.
#[napi]
pub fn monotonic_ns() -> BigInt {
  BigInt::from(now_ns())
}
