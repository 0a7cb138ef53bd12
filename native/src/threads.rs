//! Names for the threads heart's crate starts or makes FFmpeg start, so
//! `top -H`, `ps -L` and heart's `bench cpu` can tell them apart.
//!
//! FFmpeg has no way to name the threads it starts (a decoder's slice
//! threads are made inside avcodec_open2); on Linux a new thread takes the
//! name of the thread that created it. The decoder is opened on a libuv pool
//! thread shared with the rest of Node, so that thread takes the decoder's
//! name only while FFmpeg starts its threads, and gets its own back after.

/// The name FFmpeg's software decoder threads get (Linux keeps 15 bytes).
pub const DECODER_THREAD_NAME: &str = "heart-decode";
/// The thread that frees a closed source off the JS thread (an RTSP teardown talks to the camera).
pub const CLOSE_THREAD_NAME: &str = "heart-close";

/// Runs `f` with the calling thread named `name`, then restores its name.
pub fn with_thread_name<T>(name: &str, f: impl FnOnce() -> T) -> T {
  let previous = current_name();
  if previous.is_some() {
    set_name(name);
  }
  let out = f();
  if let Some(previous) = previous {
    set_name(&previous);
  }
  out
}

#[cfg(target_os = "linux")]
fn current_name() -> Option<String> {
  let mut buf = [0u8; 16];
  // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL included, into buf.
  let r = unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr() as libc::c_ulong, 0, 0, 0) };
  if r != 0 {
    return None;
  }
  let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
  Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(target_os = "linux")]
fn set_name(name: &str) {
  let mut buf = [0u8; 16];
  let bytes = name.as_bytes();
  let n = bytes.len().min(15);
  buf[..n].copy_from_slice(&bytes[..n]);
  // SAFETY: buf is NUL-terminated; PR_SET_NAME reads at most 16 bytes of it.
  unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

#[cfg(not(target_os = "linux"))]
fn current_name() -> Option<String> {
  None
}

#[cfg(not(target_os = "linux"))]
fn set_name(_name: &str) {}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_thread_started_under_the_name_keeps_it_and_the_caller_gets_its_own_back() {
    std::thread::Builder::new()
      .name("caller".into())
      .spawn(|| {
        let child = with_thread_name(DECODER_THREAD_NAME, || std::thread::spawn(current_name).join().unwrap());
        if cfg!(target_os = "linux") {
          assert_eq!(child.as_deref(), Some(DECODER_THREAD_NAME));
          assert_eq!(current_name().as_deref(), Some("caller"));
        }
      })
      .unwrap()
      .join()
      .unwrap();
  }
}
