//! systemd's service notification protocol without libsystemd: one datagram
//! to the unix socket named by `$NOTIFY_SOCKET`. Node has no unix datagram
//! sockets, so the crate sends it. `heart run` sends READY=1, WATCHDOG=1,
//! STATUS=... and STOPPING=1 through it (docs/native.md, systemd).

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use napi_derive::napi;

use crate::error::{ErrorCode, HeartError, HeartResult};

/// Where `$NOTIFY_SOCKET` points: a path, or (leading '@') a name in the
/// abstract namespace. None when the variable is unset or empty.
fn notify_address(value: Option<String>) -> HeartResult<Option<(SocketAddr, String)>> {
  let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
  let address = if let Some(name) = value.strip_prefix('@') {
    SocketAddr::from_abstract_name(name.as_bytes())
  } else if value.starts_with('/') {
    SocketAddr::from_pathname(&value)
  } else {
    return Err(HeartError::invalid(format!(
      "NOTIFY_SOCKET is {value:?}: heart sends to a unix socket path (starting with '/') or an abstract name (starting with '@')"
    )));
  };
  address
    .map(|a| Some((a, value.clone())))
    .map_err(|e| HeartError::invalid(format!("NOTIFY_SOCKET {value:?} is not a usable socket address: {e}")))
}

fn send_failed(target: &str, e: io::Error) -> HeartError {
  let code = match e.kind() {
    io::ErrorKind::PermissionDenied => ErrorCode::PermissionDenied,
    _ => ErrorCode::IoError,
  };
  HeartError::new(
    code,
    format!("sending the notification to systemd at NOTIFY_SOCKET {target:?} failed: {e} (is the service manager still listening there?)"),
  )
}

fn send_notification(message: &str, value: Option<String>) -> HeartResult<bool> {
  let Some((address, target)) = notify_address(value)? else { return Ok(false) };
  let socket = UnixDatagram::unbound().map_err(|e| send_failed(&target, e))?;
  let sent = socket.send_to_addr(message.as_bytes(), &address).map_err(|e| send_failed(&target, e))?;
  if sent != message.len() {
    return Err(send_failed(&target, io::Error::other(format!("only {sent} of {} bytes went out", message.len()))));
  }
  Ok(true)
}

/// Sends `message` (for example 'READY=1', 'WATCHDOG=1', 'STATUS=...',
/// 'STOPPING=1'; several newline-separated assignments may share one
/// message) as one datagram to the socket in `$NOTIFY_SOCKET`, a path or,
/// when it starts with '@', an abstract socket name. Returns false when
/// NOTIFY_SOCKET is unset or empty (not started by systemd with
/// Type=notify), true once the datagram is sent. Throws INVALID_ARGUMENT for
/// an address heart cannot use, PERMISSION_DENIED or IO_ERROR when the send
/// fails.
#[napi(js_name = "sdNotify")]
pub fn sd_notify(message: String) -> napi::Result<bool, ErrorCode> {
  send_notification(&message, std::env::var("NOTIFY_SOCKET").ok()).map_err(Into::into)
}

fn watchdog_interval(usec: Option<String>, pid: Option<String>, own_pid: u32) -> HeartResult<Option<f64>> {
  let Some(usec) = usec.filter(|v| !v.is_empty()) else { return Ok(None) };
  if let Some(pid) = pid.filter(|v| !v.is_empty()) {
    let for_pid: u32 =
      pid.trim().parse().map_err(|_| HeartError::invalid(format!("WATCHDOG_PID is {pid:?}: expected a process id")))?;
    if for_pid != own_pid {
      return Ok(None);
    }
  }
  match usec.trim().parse::<u64>() {
    Ok(n) if n > 0 => Ok(Some(n as f64)),
    _ => {
      Err(HeartError::invalid(format!("WATCHDOG_USEC is {usec:?}: expected a whole number of microseconds above 0")))
    }
  }
}

/// The watchdog interval systemd asks for, in microseconds, from
/// `$WATCHDOG_USEC`: send 'WATCHDOG=1' at least every half of it. Null when
/// the variable is unset or `$WATCHDOG_PID` names another process (a child
/// that inherited the environment). Throws INVALID_ARGUMENT when either
/// variable holds something that is not a number.
#[napi(js_name = "watchdogUsec")]
pub fn watchdog_usec() -> napi::Result<Option<f64>, ErrorCode> {
  watchdog_interval(std::env::var("WATCHDOG_USEC").ok(), std::env::var("WATCHDOG_PID").ok(), std::process::id())
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn some(v: &str) -> Option<String> {
    Some(v.to_string())
  }

  #[test]
  fn an_unset_socket_sends_nothing_and_a_relative_one_is_refused() {
    assert!(!send_notification("READY=1", None).unwrap());
    assert!(!send_notification("READY=1", some("")).unwrap());
    assert_eq!(send_notification("READY=1", some("run/notify")).unwrap_err().code, ErrorCode::InvalidArgument);
  }

  #[test]
  fn a_socket_nobody_listens_on_is_an_io_error() {
    let err = send_notification("READY=1", some("/nonexistent/heart-notify")).unwrap_err();
    assert_eq!(err.code, ErrorCode::IoError);
    assert!(err.message.contains("/nonexistent/heart-notify"), "{}", err.message);
  }

  #[test]
  fn the_watchdog_interval_is_for_this_process_only() {
    assert_eq!(watchdog_interval(None, None, 7).unwrap(), None);
    assert_eq!(watchdog_interval(some("3000000"), None, 7).unwrap(), Some(3_000_000.0));
    assert_eq!(watchdog_interval(some("3000000"), some("7"), 7).unwrap(), Some(3_000_000.0));
    assert_eq!(watchdog_interval(some("3000000"), some("8"), 7).unwrap(), None);
    assert_eq!(watchdog_interval(some("soon"), None, 7).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(watchdog_interval(some("0"), None, 7).unwrap_err().code, ErrorCode::InvalidArgument);
  }
}
