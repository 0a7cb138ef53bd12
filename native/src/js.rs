//! Small raw Node-API helpers the generated glue does not cover: a Uint8Array
//! destination held by reference and written through its raw pointer, an
//! AbortSignal listener that is removed again when the call finishes, and
//! results copied into Buffers that Node allocates.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{BufferSlice, FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, Env, ValueType};

use crate::error::{ErrorCode, HeartError, HeartResult};
use crate::init::AbortFlags;

/// A Uint8Array the native side writes into from a pool thread. Node-API on
/// Node 20 has no SharedArrayBuffer calls, but `napi_get_typedarray_info`
/// returns the memory of a Uint8Array that views one. We keep a reference so
/// the array (and its buffer) stays alive while the task runs, and write
/// through the raw pointer only: never a Rust slice over memory other threads
/// may touch at the same time.
pub struct ByteView {
  pub ptr: *mut u8,
  pub len: usize,
  reference: sys::napi_ref,
}

// SAFETY: the pointer is only dereferenced on the one pool thread running the
// task; the napi_ref is only touched on the JS thread (creation and release).
unsafe impl Send for ByteView {}

impl ByteView {
  /// Drops the reference; call on the JS thread (a task's `finally`).
  pub fn release(&mut self, env: &Env) {
    if !self.reference.is_null() {
      // SAFETY: the reference was created on this env and is deleted once.
      unsafe { sys::napi_delete_reference(env.raw(), self.reference) };
      self.reference = ptr::null_mut();
    }
  }
}

impl TypeName for ByteView {
  fn type_name() -> &'static str {
    "Uint8Array"
  }
  fn value_type() -> ValueType {
    ValueType::Object
  }
}

impl ValidateNapiValue for ByteView {}

impl FromNapiValue for ByteView {
  unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
    let mut is_typed = false;
    // SAFETY: plain Node-API queries on a value handed to us by the glue.
    unsafe {
      sys::napi_is_typedarray(env, value, &mut is_typed);
      if !is_typed {
        return Err(napi::Error::new(napi::Status::InvalidArg, "expected a Uint8Array".to_string()));
      }
      let mut kind = 0;
      let mut length = 0usize;
      let mut data = ptr::null_mut();
      let mut buffer = ptr::null_mut();
      let mut offset = 0usize;
      let status =
        sys::napi_get_typedarray_info(env, value, &mut kind, &mut length, &mut data, &mut buffer, &mut offset);
      if status != sys::Status::napi_ok {
        return Err(napi::Error::new(napi::Status::InvalidArg, "cannot read the Uint8Array".to_string()));
      }
      if kind != sys::TypedarrayType::uint8_array && kind != sys::TypedarrayType::uint8_clamped_array {
        return Err(napi::Error::new(
          napi::Status::InvalidArg,
          "expected a Uint8Array (got another typed array)".to_string(),
        ));
      }
      let mut reference = ptr::null_mut();
      sys::napi_create_reference(env, value, 1, &mut reference);
      Ok(ByteView { ptr: data as *mut u8, len: length, reference })
    }
  }
}

/// Turns an AbortSignal's 'abort' event into `AbortFlags::abort()` for the
/// duration of one call; `detach` removes the listener so a long-lived signal
/// passed to every call does not collect listeners.
pub struct SignalHook {
  signal: sys::napi_ref,
  listener: sys::napi_ref,
}

// SAFETY: only created and detached on the JS thread; carried through the task untouched.
unsafe impl Send for SignalHook {}

unsafe extern "C" fn on_abort(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut data: *mut c_void = ptr::null_mut();
  // SAFETY: data is the Arc<AbortFlags> box attached when the listener was created; it lives until the function is collected.
  unsafe {
    sys::napi_get_cb_info(env, info, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), &mut data);
    if !data.is_null() {
      (*(data as *const Arc<AbortFlags>)).abort();
    }
  }
  ptr::null_mut()
}

unsafe extern "C" fn free_flags(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: data is the Box<Arc<AbortFlags>> leaked in attach.
  drop(unsafe { Box::from_raw(data as *mut Arc<AbortFlags>) });
}

fn property(env: sys::napi_env, obj: sys::napi_value, name: &std::ffi::CStr) -> sys::napi_value {
  let mut v = ptr::null_mut();
  // SAFETY: obj is a live value in the current scope.
  unsafe { sys::napi_get_named_property(env, obj, name.as_ptr(), &mut v) };
  v
}

fn call_listener_method(
  env: sys::napi_env,
  signal: sys::napi_value,
  method: &std::ffi::CStr,
  listener: sys::napi_value,
) {
  // SAFETY: calls signal[method]('abort', listener) on the JS thread; failures are ignored
  // (a non-EventTarget signal simply never aborts).
  unsafe {
    let f = property(env, signal, method);
    let mut t = ValueType::Unknown as i32;
    sys::napi_typeof(env, f, &mut t);
    if f.is_null() || t != sys::ValueType::napi_function {
      return;
    }
    let mut event = ptr::null_mut();
    sys::napi_create_string_utf8(env, c"abort".as_ptr(), 5, &mut event);
    let args = [event, listener];
    let mut result = ptr::null_mut();
    sys::napi_call_function(env, signal, f, 2, args.as_ptr(), &mut result);
  }
}

impl SignalHook {
  /// Hooks `signal` (an AbortSignal, or undefined/null for none). An already
  /// aborted signal aborts `flags` at once.
  pub fn attach(env: &Env, signal: Option<sys::napi_value>, flags: &Arc<AbortFlags>) -> Option<SignalHook> {
    let raw_env = env.raw();
    let signal = signal?;
    // SAFETY: JS-thread Node-API calls on the live signal value.
    unsafe {
      let mut t = 0;
      sys::napi_typeof(raw_env, signal, &mut t);
      if t != sys::ValueType::napi_object {
        return None;
      }
      let aborted = property(raw_env, signal, c"aborted");
      let mut is_aborted = false;
      if !aborted.is_null() {
        sys::napi_get_value_bool(raw_env, aborted, &mut is_aborted);
      }
      if is_aborted {
        flags.abort();
        return None;
      }
      let data = Box::into_raw(Box::new(flags.clone()));
      let mut listener = ptr::null_mut();
      if sys::napi_create_function(raw_env, c"onHeartAbort".as_ptr(), 12, Some(on_abort), data.cast(), &mut listener)
        != sys::Status::napi_ok
      {
        drop(Box::from_raw(data));
        return None;
      }
      sys::napi_add_finalizer(raw_env, listener, data.cast(), Some(free_flags), ptr::null_mut(), ptr::null_mut());
      call_listener_method(raw_env, signal, c"addEventListener", listener);
      let mut signal_ref = ptr::null_mut();
      let mut listener_ref = ptr::null_mut();
      sys::napi_create_reference(raw_env, signal, 1, &mut signal_ref);
      sys::napi_create_reference(raw_env, listener, 1, &mut listener_ref);
      Some(SignalHook { signal: signal_ref, listener: listener_ref })
    }
  }

  pub fn detach(self, env: &Env) {
    let raw_env = env.raw();
    // SAFETY: JS-thread calls; both references were created in attach and are deleted once here.
    unsafe {
      let mut signal = ptr::null_mut();
      let mut listener = ptr::null_mut();
      sys::napi_get_reference_value(raw_env, self.signal, &mut signal);
      sys::napi_get_reference_value(raw_env, self.listener, &mut listener);
      if !signal.is_null() && !listener.is_null() {
        call_listener_method(raw_env, signal, c"removeEventListener", listener);
      }
      sys::napi_delete_reference(raw_env, self.signal);
      sys::napi_delete_reference(raw_env, self.listener);
    }
  }
}

/// A copy of `bytes` in a Buffer that Node allocates. V8 counts such memory
/// and collects dropped Buffers in step; a Buffer wrapping Rust memory is
/// invisible to it and piles up between collections (docs/native.md, Memory).
pub fn node_buffer<'e>(env: &'e Env, bytes: &[u8]) -> HeartResult<BufferSlice<'e>> {
  BufferSlice::copy_from(env, bytes).map_err(|e| {
    HeartError::new(ErrorCode::Internal, format!("cannot allocate a Buffer of {} bytes: {}", bytes.len(), e.reason))
  })
}

/// Bytes handed to JS as a Buffer Node allocates (see `node_buffer`), or
/// null: for fields of returned objects, which are converted after the Rust
/// call returns. (An Option field would be left out of the object, not null.)
#[derive(Clone, Debug, Default)]
pub struct NullableBytes(pub Option<Vec<u8>>);

impl TypeName for NullableBytes {
  fn type_name() -> &'static str {
    "Buffer | null"
  }
  fn value_type() -> ValueType {
    ValueType::Object
  }
}

impl ToNapiValue for NullableBytes {
  unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    let status = match &val.0 {
      // SAFETY: plain Node-API constructors on the JS thread; the copy reads len bytes of our Vec.
      None => unsafe { sys::napi_get_null(env, &mut out) },
      Some(bytes) => {
        let mut data = ptr::null_mut();
        unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out) }
      }
    };
    if status != sys::Status::napi_ok {
      return Err(napi::Error::new(napi::Status::GenericFailure, "cannot allocate a Buffer".to_string()));
    }
    Ok(out)
  }
}
