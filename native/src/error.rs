//! Stable error codes. Every native failure becomes a `HeartError` with one of
//! these codes; `map_error` is the single place that turns an FFmpeg / errno
//! result into one. In JS the code is `err.code` and the message says what
//! happened and what to do about it (and never carries credentials: callers
//! pass the redacted URL).

use std::ffi::CStr;
use std::fmt;

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{sys, Env};
use napi_derive::napi;

use crate::ffi;

/// The codes a native failure carries in `err.code`. Exported to JS as
/// `NativeErrorCode` (values exactly the code strings), so packages import
/// the list instead of retyping it. Rust code calls it ErrorCode.
#[napi(string_enum = "UPPER_SNAKE")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeErrorCode {
  /// A call got an argument it cannot use (wrong type, range, unknown option).
  InvalidArgument,
  /// The host answered but refused the TCP connection (nothing listening on that port).
  ConnectRefused,
  /// The host could not be reached or its name could not be resolved.
  ConnectFailed,
  /// The camera rejected the credentials (RTSP/HTTP 401 or 403).
  AuthFailed,
  /// The host is there but the path/stream/file/device does not exist (404, ENOENT).
  StreamNotFound,
  /// The stream's codec is not one heart decodes (H.264, H.265, MJPEG, raw).
  UnsupportedCodec,
  /// The stream does not match the configured expectation (codec, maximum size, crop).
  FormatMismatch,
  /// A blocking step took longer than `timeoutMs`.
  Timeout,
  /// The call was interrupted by close() or an AbortSignal.
  Aborted,
  /// The data could not be decoded.
  DecodeError,
  /// A file source without `loop` reached its end.
  EndOfStream,
  /// A V4L2 device is in use by another process.
  DeviceBusy,
  /// The process may not open the file or device.
  PermissionDenied,
  /// The destination Uint8Array is smaller than the negotiated frame.
  BufferTooSmall,
  /// The source was closed.
  Closed,
  /// Another readInto() on the same source has not finished yet.
  Busy,
  /// The JPEG encoder failed.
  EncodeError,
  /// An I2C transfer failed.
  #[napi(value = "I2C_ERROR")]
  I2cError,
  /// Any other input/output failure.
  IoError,
  /// A bug or an FFmpeg allocation failure.
  Internal,
}

pub use self::NativeErrorCode as ErrorCode;

impl ErrorCode {
  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
      ErrorCode::ConnectRefused => "CONNECT_REFUSED",
      ErrorCode::ConnectFailed => "CONNECT_FAILED",
      ErrorCode::AuthFailed => "AUTH_FAILED",
      ErrorCode::StreamNotFound => "STREAM_NOT_FOUND",
      ErrorCode::UnsupportedCodec => "UNSUPPORTED_CODEC",
      ErrorCode::FormatMismatch => "FORMAT_MISMATCH",
      ErrorCode::Timeout => "TIMEOUT",
      ErrorCode::Aborted => "ABORTED",
      ErrorCode::DecodeError => "DECODE_ERROR",
      ErrorCode::EndOfStream => "END_OF_STREAM",
      ErrorCode::DeviceBusy => "DEVICE_BUSY",
      ErrorCode::PermissionDenied => "PERMISSION_DENIED",
      ErrorCode::BufferTooSmall => "BUFFER_TOO_SMALL",
      ErrorCode::Closed => "CLOSED",
      ErrorCode::Busy => "BUSY",
      ErrorCode::EncodeError => "ENCODE_ERROR",
      ErrorCode::I2cError => "I2C_ERROR",
      ErrorCode::IoError => "IO_ERROR",
      ErrorCode::Internal => "INTERNAL",
    }
  }
}

impl AsRef<str> for ErrorCode {
  fn as_ref(&self) -> &str {
    self.as_str()
  }
}

#[derive(Debug, Clone)]
pub struct HeartError {
  pub code: ErrorCode,
  pub message: String,
}

impl HeartError {
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    HeartError { code, message: message.into() }
  }

  pub fn invalid(message: impl Into<String>) -> Self {
    HeartError::new(ErrorCode::InvalidArgument, message)
  }

  /// Builds the JS Error object (with `code`) on the JS thread, for async
  /// tasks whose rejection path only carries napi's own status codes.
  pub fn to_js_error(&self, env: &Env) -> napi::Error {
    let raw_env = env.raw();
    let mut code = std::ptr::null_mut();
    let mut msg = std::ptr::null_mut();
    let mut err = std::ptr::null_mut();
    // SAFETY: called on the JS thread with a live env; the strings are valid UTF-8 with explicit lengths.
    unsafe {
      let c = self.code.as_str();
      sys::napi_create_string_utf8(raw_env, c.as_ptr().cast(), c.len() as isize, &mut code);
      sys::napi_create_string_utf8(raw_env, self.message.as_ptr().cast(), self.message.len() as isize, &mut msg);
      if sys::napi_create_error(raw_env, code, msg, &mut err) != sys::Status::napi_ok || err.is_null() {
        return napi::Error::new(napi::Status::GenericFailure, format!("{}: {}", self.code.as_str(), self.message));
      }
      match Unknown::from_napi_value(raw_env, err) {
        Ok(unknown) => napi::Error::from(unknown),
        Err(e) => e,
      }
    }
  }
}

impl fmt::Display for HeartError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl From<HeartError> for napi::Error<ErrorCode> {
  fn from(e: HeartError) -> Self {
    napi::Error::new(e.code, e.message)
  }
}

pub type HeartResult<T> = Result<T, HeartError>;

/// FFmpeg's AVERROR(e) for a POSIX errno.
pub const fn averror(errno: i32) -> i32 {
  -errno
}

const fn fferrtag(a: u8, b: u8, c: u8, d: u8) -> i32 {
  -((a as i32) | ((b as i32) << 8) | ((c as i32) << 16) | ((d as i32) << 24))
}

pub const AVERROR_EOF: i32 = fferrtag(b'E', b'O', b'F', b' ');
pub const AVERROR_EXIT: i32 = fferrtag(b'E', b'X', b'I', b'T');
pub const AVERROR_INVALIDDATA: i32 = fferrtag(b'I', b'N', b'D', b'A');
pub const AVERROR_DECODER_NOT_FOUND: i32 = fferrtag(0xF8, b'D', b'E', b'C');
pub const AVERROR_DEMUXER_NOT_FOUND: i32 = fferrtag(0xF8, b'D', b'E', b'M');
pub const AVERROR_PROTOCOL_NOT_FOUND: i32 = fferrtag(0xF8, b'P', b'R', b'O');
pub const AVERROR_STREAM_NOT_FOUND: i32 = fferrtag(0xF8, b'S', b'T', b'R');
pub const AVERROR_HTTP_UNAUTHORIZED: i32 = fferrtag(0xF8, b'4', b'0', b'1');
pub const AVERROR_HTTP_FORBIDDEN: i32 = fferrtag(0xF8, b'4', b'0', b'3');
pub const AVERROR_HTTP_NOT_FOUND: i32 = fferrtag(0xF8, b'4', b'0', b'4');
pub const AVERROR_EAGAIN: i32 = averror(libc::EAGAIN);

/// FFmpeg's own text for an error number.
pub fn av_error_text(err: i32) -> String {
  let mut buf = [0 as libc::c_char; 256];
  // SAFETY: av_strerror writes a NUL-terminated string of at most buf.len() bytes.
  unsafe {
    ffi::av_strerror(err, buf.as_mut_ptr(), buf.len());
    CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
  }
}

/// The one place an FFmpeg (or errno) failure becomes a stable code plus a
/// message a person can act on. `what` names the step ("open", "read", ...)
/// and `target` is the already-redacted source URL.
pub fn map_error(err: i32, what: &str, target: &str) -> HeartError {
  let detail = av_error_text(err);
  let (code, hint) = match err {
    e if e == averror(libc::ECONNREFUSED) => {
      (ErrorCode::ConnectRefused, "the host refused the connection: check the camera is powered and the port is right")
    }
    e if e == averror(libc::EHOSTUNREACH)
      || e == averror(libc::ENETUNREACH)
      || e == averror(libc::EADDRNOTAVAIL)
      || e == averror(libc::ECONNRESET) =>
    {
      (ErrorCode::ConnectFailed, "the host cannot be reached: check the address, cabling and network")
    }
    e if e == averror(libc::ETIMEDOUT) => (ErrorCode::Timeout, "the host did not answer in time"),
    AVERROR_HTTP_UNAUTHORIZED | AVERROR_HTTP_FORBIDDEN => {
      (ErrorCode::AuthFailed, "the camera rejected the credentials: check the user and password in the URL")
    }
    AVERROR_HTTP_NOT_FOUND | AVERROR_STREAM_NOT_FOUND => {
      (ErrorCode::StreamNotFound, "the stream path does not exist on that host: check the URL's path")
    }
    e if e == averror(libc::ENOENT) || e == averror(libc::ENODEV) || e == averror(libc::ENXIO) => {
      (ErrorCode::StreamNotFound, "no such file or device: check the path")
    }
    e if e == averror(libc::EACCES) || e == averror(libc::EPERM) => (
      ErrorCode::PermissionDenied,
      "permission denied: run as a user that may read it (for cameras: the 'video' group)",
    ),
    e if e == averror(libc::EBUSY) => {
      (ErrorCode::DeviceBusy, "the device is in use by another process: stop it or pick another device")
    }
    AVERROR_DECODER_NOT_FOUND => (ErrorCode::UnsupportedCodec, "this FFmpeg build has no decoder for the stream"),
    AVERROR_PROTOCOL_NOT_FOUND | AVERROR_DEMUXER_NOT_FOUND => {
      (ErrorCode::InvalidArgument, "this FFmpeg build cannot read that kind of source")
    }
    AVERROR_INVALIDDATA => {
      (ErrorCode::DecodeError, "the source sent data that is not a video stream FFmpeg understands")
    }
    AVERROR_EOF => (ErrorCode::EndOfStream, "the source ended"),
    AVERROR_EXIT => (ErrorCode::Aborted, "interrupted"),
    e if e == averror(libc::EIO) && (target.starts_with("rtsp") || target.starts_with("http")) => {
      (ErrorCode::ConnectFailed, "the connection failed (unknown host name or network error): check the address")
    }
    e if e == averror(libc::ENOMEM) => (ErrorCode::Internal, "out of memory"),
    _ => (ErrorCode::IoError, "input/output failure"),
  };
  HeartError::new(code, format!("{what} {target} failed: {hint} ({detail})"))
}

#[cfg(test)]
mod tests {
  use super::*;

  /// The JS enum's values come from the variant names (UPPER_SNAKE); `as_str`
  /// must spell every code the same way.
  #[test]
  fn as_str_is_the_upper_snake_variant_name() {
    let all = [
      ErrorCode::InvalidArgument,
      ErrorCode::ConnectRefused,
      ErrorCode::ConnectFailed,
      ErrorCode::AuthFailed,
      ErrorCode::StreamNotFound,
      ErrorCode::UnsupportedCodec,
      ErrorCode::FormatMismatch,
      ErrorCode::Timeout,
      ErrorCode::Aborted,
      ErrorCode::DecodeError,
      ErrorCode::EndOfStream,
      ErrorCode::DeviceBusy,
      ErrorCode::PermissionDenied,
      ErrorCode::BufferTooSmall,
      ErrorCode::Closed,
      ErrorCode::Busy,
      ErrorCode::EncodeError,
      ErrorCode::I2cError,
      ErrorCode::IoError,
      ErrorCode::Internal,
    ];
    for code in all {
      let mut snake = String::new();
      for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
          snake.push('_');
        }
        snake.push(c.to_ascii_uppercase());
      }
      assert_eq!(code.as_str(), snake);
    }
  }
}
