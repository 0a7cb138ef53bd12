#![deny(clippy::all)]
//! heart's native crate: FFmpeg demux / decode / convert straight into ring
//! slots, the monotonic clock, JPEG encoding and I2C transfers.

mod clock;
mod ffi;

pub use clock::monotonic_ns;
