//! Linux I2C transfers through the I2C_RDWR ioctl: a write and a read in one
//! transaction with a repeated start between them, which sensors such as
//! the MLX90640 require for register reads. The caller opens /dev/i2c-N
//! itself (fs.openSync) and passes the descriptor.

use napi::bindgen_prelude::BufferSlice;
use napi::Env;
use napi_derive::napi;

use crate::error::{ErrorCode, HeartError, HeartResult};
use crate::js::{node_buffer, ByteView};

#[repr(C)]
struct I2cMsg {
  addr: u16,
  flags: u16,
  len: u16,
  buf: *mut u8,
}

#[repr(C)]
struct I2cRdwrData {
  msgs: *mut I2cMsg,
  nmsgs: u32,
}

const I2C_RDWR: libc::c_ulong = 0x0707;
const I2C_M_RD: u16 = 0x0001;
/// i2c-dev refuses longer messages.
const MAX_MESSAGE: usize = 8192;

fn check_args(fd: i32, addr: u32) -> HeartResult<u16> {
  if fd < 0 {
    return Err(HeartError::invalid(format!("fd {fd} is not an open file descriptor; open /dev/i2c-N first")));
  }
  if !(0x03..=0x77).contains(&addr) {
    return Err(HeartError::invalid(format!(
      "I2C address 0x{addr:x} is outside the 7-bit range 0x03..0x77 (the MLX90640 default is 0x33)"
    )));
  }
  Ok(addr as u16)
}

fn check_len(len: usize, what: &str) -> HeartResult<()> {
  if len == 0 || len > MAX_MESSAGE {
    return Err(HeartError::invalid(format!("{what} must be 1 to {MAX_MESSAGE} bytes, got {len}")));
  }
  Ok(())
}

fn copy_in(view: &ByteView) -> Vec<u8> {
  let mut out = vec![0u8; view.len];
  // SAFETY: view.ptr points at view.len bytes kept alive by its reference; copied through the raw pointer.
  unsafe { std::ptr::copy_nonoverlapping(view.ptr, out.as_mut_ptr(), view.len) };
  out
}

fn transfer(fd: i32, addr: u16, msgs: &mut [I2cMsg]) -> HeartResult<()> {
  let mut data = I2cRdwrData { msgs: msgs.as_mut_ptr(), nmsgs: msgs.len() as u32 };
  // SAFETY: the messages point at buffers that outlive the call; the kernel validates fd and lengths.
  let r = unsafe { libc::ioctl(fd, I2C_RDWR as _, &mut data as *mut I2cRdwrData) };
  if r >= 0 {
    return Ok(());
  }
  let err = std::io::Error::last_os_error();
  let (code, hint) = match err.raw_os_error().unwrap_or(0) {
    libc::EBADF => (ErrorCode::InvalidArgument, "the descriptor is not open"),
    libc::ENOTTY | libc::EINVAL => (ErrorCode::InvalidArgument, "the descriptor is not an I2C bus (/dev/i2c-N)"),
    libc::ENXIO | libc::EREMOTEIO | libc::EIO => {
      (ErrorCode::I2cError, "no acknowledge from the device: check the address, wiring and power")
    }
    libc::ETIMEDOUT => (ErrorCode::Timeout, "the bus timed out (a device may be holding SDA low)"),
    libc::EAGAIN => (ErrorCode::I2cError, "bus arbitration lost: retry"),
    _ => (ErrorCode::I2cError, "the transfer failed"),
  };
  Err(HeartError::new(code, format!("I2C transfer to 0x{addr:02x} failed: {hint} ({err})")))
}

/// Writes `write` (typically a register address) to the device at 7-bit
/// address `addr` on the open I2C bus `fd`, then reads `readLen` bytes, in
/// one I2C_RDWR transaction with a repeated start (no stop in between).
/// Throws INVALID_ARGUMENT for bad arguments, I2C_ERROR when the device does
/// not answer, TIMEOUT when the bus hangs.
#[napi(js_name = "i2cWriteRead", ts_args_type = "fd: number, addr: number, write: Uint8Array, readLen: number")]
pub fn i2c_write_read(
  env: &Env,
  fd: i32,
  addr: u32,
  mut write: ByteView,
  read_len: u32,
) -> napi::Result<BufferSlice<'_>, ErrorCode> {
  let result = (|| -> HeartResult<BufferSlice<'_>> {
    let addr = check_args(fd, addr)?;
    check_len(write.len, "write")?;
    check_len(read_len as usize, "readLen")?;
    let mut out = copy_in(&write);
    let mut input = vec![0u8; read_len as usize];
    let mut msgs = [
      I2cMsg { addr, flags: 0, len: out.len() as u16, buf: out.as_mut_ptr() },
      I2cMsg { addr, flags: I2C_M_RD, len: input.len() as u16, buf: input.as_mut_ptr() },
    ];
    transfer(fd, addr, &mut msgs)?;
    node_buffer(env, &input)
  })();
  write.release(env);
  result.map_err(Into::into)
}

/// Writes `data` to the device at 7-bit address `addr` on the open I2C bus
/// `fd` in one message. Same errors as i2cWriteRead().
#[napi(js_name = "i2cWrite", ts_args_type = "fd: number, addr: number, data: Uint8Array")]
pub fn i2c_write(env: Env, fd: i32, addr: u32, mut data: ByteView) -> napi::Result<(), ErrorCode> {
  let result = (|| -> HeartResult<()> {
    let addr = check_args(fd, addr)?;
    check_len(data.len, "data")?;
    let mut out = copy_in(&data);
    let mut msgs = [I2cMsg { addr, flags: 0, len: out.len() as u16, buf: out.as_mut_ptr() }];
    transfer(fd, addr, &mut msgs)
  })();
  data.release(&env);
  result.map_err(Into::into)
}
