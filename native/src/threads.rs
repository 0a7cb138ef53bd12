//! Names for the threads heart's crate starts or makes FFmpeg start, so
//! `top -H`, `ps -L` and heart's `bench cpu` can tell them apart.
//!
//! FFmpeg has no way to name the threads it starts (a decoder's slice
//! threads are made inside avcodec_open2); on Linux a new thread takes the
//! name of the thread that created it. The decoder is opened on the source's
//! own thread (`heart-src-N`), so that thread takes the decoder's name only
//! while FFmpeg starts its threads, and gets its own back after.
//!
//! The crate's blocking work (open, demux, decode, probe) runs on threads it
//! starts itself rather than on the libuv pool: that pool has 4 threads for
//! the whole process, shared with fs, dns, zlib and crypto, and N cameras
//! each blocked in a read would leave none for them (docs/native.md).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;

/// The name FFmpeg's software decoder threads get (Linux keeps 15 bytes).
pub const DECODER_THREAD_NAME: &str = "heart-decode";
/// The short-lived thread a probe() opens, reads and closes its source on.
pub const PROBE_THREAD_NAME: &str = "heart-probe";

/// `heart-src-N`: the thread one open source lives on, N counting from 1 in
/// the order sources were opened (the name fits Linux's 15 bytes up to 99999).
pub fn source_thread_name() -> String {
  static OPENED: AtomicU32 = AtomicU32::new(0);
  format!("heart-src-{}", OPENED.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Starts a thread named `name` that runs `work(job)`. The job travels to the
/// thread after it exists, so when no thread can be made the job comes back
/// (and the promise it carries can still be settled) instead of being lost.
pub fn start_thread<J: Send + 'static>(name: String, job: J, work: fn(J)) -> Result<(), (J, std::io::Error)> {
  let (hand_over, receive) = mpsc::sync_channel::<J>(1);
  let started = std::thread::Builder::new().name(name).spawn(move || {
    if let Ok(job) = receive.recv() {
      work(job)
    }
  });
  match started {
    // The thread waits on the channel, so it is there to take the job.
    Ok(_detached) => hand_over.send(job).map_err(|e| (e.0, std::io::Error::other("the new thread ended at once"))),
    Err(e) => Err((job, e)),
  }
}

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

  #[test]
  fn a_started_thread_runs_its_job_under_its_name() {
    let (tx, rx) = mpsc::channel();
    let started = start_thread("heart-src-test".into(), tx, |tx| {
      tx.send(std::thread::current().name().map(String::from)).unwrap();
    });
    assert!(started.is_ok());
    assert_eq!(rx.recv().unwrap().as_deref(), Some("heart-src-test"));
  }

  #[test]
  fn source_threads_are_numbered_in_the_order_sources_open() {
    let first = source_thread_name();
    let second = source_thread_name();
    let n = |name: &str| name.strip_prefix("heart-src-").unwrap().parse::<u32>().unwrap();
    assert!(n(&second) > n(&first), "{first} then {second}");
  }
}
