#![deny(clippy::all)]
//! heart's native crate: FFmpeg demux / decode / convert straight into ring
//! slots, the monotonic clock, JPEG encoding, I2C transfers, the movement
//! detector's per-cell stages and systemd notifications.

mod clock;
mod codec;
mod error;
mod ffi;
mod i2c;
mod image;
mod init;
mod js;
mod layout;
mod malloc;
mod media;
mod motion;
mod mux;
mod nal;
mod notify;
mod source;
mod spec;
mod testsrc;
mod threads;

pub use clock::monotonic_ns;
pub use i2c::{i2c_write, i2c_write_read};
pub use image::{encode_jpeg, scale_into};
pub use media::PACKET_RECORD_HEADER_BYTES;
pub use motion::MotionGrid;
pub use mux::Mp4Muxer;
pub use notify::{sd_notify, watchdog_usec};
pub use source::{probe, Source};
