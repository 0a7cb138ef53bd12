#![deny(clippy::all)]
//! heart's native crate: FFmpeg demux / decode / convert straight into ring
//! slots, the monotonic clock, JPEG encoding and I2C transfers.

mod clock;
mod error;
mod ffi;
mod js;
mod layout;
mod media;
mod source;
mod testsrc;
mod url;

pub use clock::monotonic_ns;
pub use source::{probe, Source};
