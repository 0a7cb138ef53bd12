//! The source as the JS side hands it over: already parsed from its URL by
//! @heart/capture (packages/capture/src/sources/, one module per kind), so
//! this side never reads a query string. Each option is a typed field; this
//! module only checks that values are in range (a caller may build a spec by
//! hand) and turns the spec into the input the pipeline opens.

use std::collections::HashMap;

use napi_derive::napi;

use crate::codec::normalize_codec;
use crate::error::{HeartError, HeartResult};
use crate::testsrc::ClipSpec;

/// A source to open, one typed field per option. Build it with
/// `nativeSpec(parseSource(url))` from @heart/capture rather than by hand.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct SourceSpec {
  /// Which input opens it.
  #[napi(ts_type = "'rtsp' | 'file' | 'v4l2' | 'testsrc' | 'stream'")]
  pub kind: String,
  /// What FFmpeg opens: the rtsp:// or rtsps:// URL as the camera needs it
  /// (credentials and the camera's own query parameters kept, heart's
  /// options taken out), the file's absolute path, or the device path.
  /// Empty for testsrc.
  pub target: String,
  /// The source as messages may name it (credentials replaced by ***).
  pub redacted: String,
  /// rtsp: 'tcp' (default) or 'udp'.
  #[napi(ts_type = "'tcp' | 'udp'")]
  pub transport: Option<String>,
  /// rtsp over udp: how long, in ms, libavformat holds packets behind a
  /// missing one, waiting for it to arrive out of order, before it gives
  /// it up (FFmpeg's `max_delay`; default 100). Raise it on a radio link
  /// that reorders; lower it to bound the stall after a loss.
  pub reorder_ms: Option<u32>,
  /// file, testsrc: start again at the end instead of ending with
  /// END_OF_STREAM. Default false for file, true for testsrc.
  #[napi(js_name = "loop")]
  pub loop_: Option<bool>,
  /// file, testsrc: deliver frames at their timestamps' pace, like a live
  /// camera. Default false for file, true for testsrc.
  pub realtime: Option<bool>,
  /// v4l2: the capture format asked of the device.
  #[napi(ts_type = "'mjpeg' | 'yuyv' | 'h264'")]
  pub format: Option<String>,
  /// v4l2, testsrc: picture width in pixels (with height).
  pub width: Option<u32>,
  /// v4l2, testsrc: picture height in pixels (with width).
  pub height: Option<u32>,
  /// v4l2, testsrc: frames per second (fractions such as 29.97 allowed).
  pub fps: Option<f64>,
  /// testsrc: 'h264' (default) or 'hevc'.
  #[napi(ts_type = "'h264' | 'hevc'")]
  pub codec: Option<String>,
  /// testsrc: length of the generated clip in seconds before it loops (default 2).
  pub seconds: Option<u32>,
  /// stream: the FFmpeg demuxer to read `target` with ('mpegts', 'h264',
  /// ...); FFmpeg guesses from the data when absent.
  pub input_format: Option<String>,
  /// stream: options for FFmpeg's protocol and demuxer, as FFmpeg names them
  /// (udp's `fifo_size`, `overrun_nonfatal`, ...).
  pub av_options: Option<HashMap<String, String>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum V4l2Format {
  Mjpeg,
  Yuyv,
  H264,
}

impl V4l2Format {
  /// The name libavdevice's `input_format` option takes.
  pub fn av_name(self) -> &'static str {
    match self {
      V4l2Format::Mjpeg => "mjpeg",
      V4l2Format::Yuyv => "yuyv422",
      V4l2Format::H264 => "h264",
    }
  }
}

/// What the pipeline opens, per kind.
#[derive(Clone, Debug)]
pub enum Input {
  Rtsp {
    url: String,
    udp: bool,
    /// FFmpeg's reordering delay over UDP in ms, when not its default.
    reorder_ms: Option<u32>,
  },
  File {
    path: String,
  },
  V4l2 {
    device: String,
    format: Option<V4l2Format>,
    size: Option<(u32, u32)>,
    fps: Option<f64>,
  },
  TestSrc(ClipSpec),
  /// Any live stream FFmpeg's protocols open (udp://, srt://, tcp://, http://
  /// ...): the kind a new TypeScript source module maps onto, so adding a
  /// network source needs no Rust.
  Stream {
    url: String,
    format: Option<String>,
    options: Vec<(String, String)>,
  },
}

/// A checked spec: the input, how to play it, and the printable name.
#[derive(Clone, Debug)]
pub struct OpenSource {
  pub input: Input,
  /// Safe to print (re-redacted here as a guard: a hand-built spec might
  /// carry credentials in `redacted`).
  pub redacted: String,
  pub loop_: bool,
  pub realtime: bool,
}

impl OpenSource {
  /// Live inputs deliver at their own pace and cannot loop.
  pub fn is_live(&self) -> bool {
    matches!(self.input, Input::Rtsp { .. } | Input::V4l2 { .. } | Input::Stream { .. }) || self.realtime
  }
}

/// Frame-size limits shared with capture's parseSize (packages/capture/src/source-url.ts).
pub const MIN_DIMENSION: u32 = 16;
pub const MAX_DIMENSION: u32 = 8192;
pub const MAX_FPS: f64 = 240.0;
pub const MAX_TEST_SECONDS: u32 = 60;

fn size_of(spec: &SourceSpec) -> HeartResult<Option<(u32, u32)>> {
  match (spec.width, spec.height) {
    (None, None) => Ok(None),
    (Some(w), Some(h)) => {
      let fits = |v: u32| (MIN_DIMENSION..=MAX_DIMENSION).contains(&v) && v.is_multiple_of(2);
      if fits(w) && fits(h) {
        Ok(Some((w, h)))
      } else {
        Err(HeartError::invalid(format!(
          "size {w}x{h} of {}: width and height must be even and from {MIN_DIMENSION} to {MAX_DIMENSION}",
          spec.redacted
        )))
      }
    }
    _ => Err(HeartError::invalid(format!("{}: give width and height together", spec.redacted))),
  }
}

fn fps_of(spec: &SourceSpec) -> HeartResult<Option<f64>> {
  match spec.fps {
    Some(f) if !(f > 0.0 && f <= MAX_FPS) => {
      Err(HeartError::invalid(format!("fps {f} of {}: give a frame rate above 0 and at most {MAX_FPS}", spec.redacted)))
    }
    other => Ok(other),
  }
}

/// Options a kind does not have are refused, so a spec never silently
/// carries something that is not applied.
fn refuse(spec: &SourceSpec, allowed: &[&str]) -> HeartResult<()> {
  let given = [
    ("transport", spec.transport.is_some()),
    ("reorderMs", spec.reorder_ms.is_some()),
    ("loop", spec.loop_.is_some()),
    ("realtime", spec.realtime.is_some()),
    ("format", spec.format.is_some()),
    ("width", spec.width.is_some()),
    ("height", spec.height.is_some()),
    ("fps", spec.fps.is_some()),
    ("codec", spec.codec.is_some()),
    ("seconds", spec.seconds.is_some()),
    ("inputFormat", spec.input_format.is_some()),
    ("avOptions", spec.av_options.is_some()),
  ];
  let stray: Vec<&str> = given.iter().filter(|(k, set)| *set && !allowed.contains(k)).map(|(k, _)| *k).collect();
  if stray.is_empty() {
    return Ok(());
  }
  let takes = if allowed.is_empty() { "takes no options".to_string() } else { format!("takes {}", allowed.join(", ")) };
  Err(HeartError::invalid(format!("{} {} source {takes}, not {}", spec.redacted, spec.kind, stray.join(", "))))
}

fn absolute(spec: &SourceSpec, what: &str) -> HeartResult<String> {
  if spec.target.starts_with('/') {
    Ok(spec.target.clone())
  } else {
    Err(HeartError::invalid(format!(
      "{what} '{}' of {} is not an absolute path: write it from / (as a URL, three slashes: file:///videos/clip.mp4)",
      spec.target, spec.redacted
    )))
  }
}

pub fn check(spec: &SourceSpec) -> HeartResult<OpenSource> {
  let redacted = redact(&spec.redacted);
  let spec = &SourceSpec { redacted: redacted.clone(), ..spec.clone() };
  let mut loop_ = spec.loop_.unwrap_or(false);
  let mut realtime = spec.realtime.unwrap_or(false);
  let input = match spec.kind.as_str() {
    "rtsp" => {
      refuse(spec, &["transport", "reorderMs"])?;
      let lower = spec.target.to_ascii_lowercase();
      if !lower.starts_with("rtsp://") && !lower.starts_with("rtsps://") {
        return Err(HeartError::invalid(format!("rtsp target {redacted} must start with rtsp:// or rtsps://")));
      }
      let udp = match spec.transport.as_deref() {
        None | Some("tcp") => false,
        Some("udp") => true,
        Some(other) => return Err(HeartError::invalid(format!("transport '{other}' of {redacted}: use tcp or udp"))),
      };
      if spec.reorder_ms.is_some() && !udp {
        return Err(HeartError::invalid(format!(
          "reorderMs of {redacted} applies to transport udp only (TCP delivers in order)"
        )));
      }
      Input::Rtsp { url: spec.target.clone(), udp, reorder_ms: spec.reorder_ms }
    }
    "file" => {
      refuse(spec, &["loop", "realtime"])?;
      Input::File { path: absolute(spec, "file")? }
    }
    "v4l2" => {
      refuse(spec, &["format", "width", "height", "fps"])?;
      let format = match spec.format.as_deref() {
        None => None,
        Some("mjpeg") => Some(V4l2Format::Mjpeg),
        Some("yuyv") => Some(V4l2Format::Yuyv),
        Some("h264") => Some(V4l2Format::H264),
        Some(other) => {
          return Err(HeartError::invalid(format!(
            "v4l2 format '{other}' of {redacted} is not supported; use mjpeg, yuyv or h264"
          )))
        }
      };
      Input::V4l2 { device: absolute(spec, "device")?, format, size: size_of(spec)?, fps: fps_of(spec)? }
    }
    "testsrc" => {
      refuse(spec, &["loop", "realtime", "width", "height", "fps", "codec", "seconds"])?;
      loop_ = spec.loop_.unwrap_or(true);
      realtime = spec.realtime.unwrap_or(true);
      let (width, height) = size_of(spec)?.unwrap_or((1920, 1080));
      let codec = normalize_codec(spec.codec.as_deref().unwrap_or("h264"));
      if codec != "h264" && codec != "hevc" {
        return Err(HeartError::invalid(format!("testsrc codec '{codec}': use h264 or hevc")));
      }
      let seconds = spec.seconds.unwrap_or(2);
      if !(1..=MAX_TEST_SECONDS).contains(&seconds) {
        return Err(HeartError::invalid(format!("testsrc seconds {seconds}: give 1 to {MAX_TEST_SECONDS}")));
      }
      Input::TestSrc(ClipSpec { codec, width, height, fps: fps_of(spec)?.unwrap_or(30.0), seconds })
    }
    "stream" => {
      refuse(spec, &["inputFormat", "avOptions"])?;
      if !spec.target.contains("://") {
        return Err(HeartError::invalid(format!("stream target {redacted} must be a URL (scheme://...)")));
      }
      let mut options: Vec<(String, String)> = spec.av_options.clone().unwrap_or_default().into_iter().collect();
      // Sorted, so the same spec always sets FFmpeg's options in the same order.
      options.sort();
      let nul = |t: &str| t.contains('\0');
      if spec.input_format.as_deref().is_some_and(nul) || options.iter().any(|(k, v)| nul(k) || nul(v)) {
        return Err(HeartError::invalid(format!("stream {redacted}: inputFormat and avOptions must not contain NUL bytes")));
      }
      Input::Stream { url: spec.target.clone(), format: spec.input_format.clone(), options }
    }
    other => {
      return Err(HeartError::invalid(format!(
        "unknown source kind '{other}'; use rtsp, file, v4l2, testsrc or stream (the kinds of rtsp://, file://, v4l2://, testsrc:// URLs; rtsps:// is rtsp)"
      )))
    }
  };
  if matches!(input, Input::Rtsp { .. } | Input::V4l2 { .. } | Input::Stream { .. }) {
    loop_ = false;
    realtime = false;
  }
  Ok(OpenSource { input, redacted, loop_, realtime })
}

/// Query keys whose values are treated as secrets when redacting.
fn is_secret_key(key: &str) -> bool {
  let k = key.to_ascii_lowercase();
  ["pass", "pwd", "token", "secret", "auth", "key", "user", "signature"].iter().any(|s| k.contains(s))
}

/// Replaces `user:pass@` with `***@` and secret-looking query values with
/// `***`: the guard that keeps a hand-built spec's `redacted` from carrying
/// credentials into a message. Works on anything URL-shaped.
pub fn redact(url: &str) -> String {
  let (before_query, query) = match url.find('?') {
    Some(i) => (&url[..i], Some(&url[i + 1..])),
    None => (url, None),
  };
  let mut out = String::with_capacity(url.len());
  match before_query.find("://") {
    Some(scheme_end) => {
      let rest = &before_query[scheme_end + 3..];
      let authority_end = rest.find('/').unwrap_or(rest.len());
      let authority = &rest[..authority_end];
      out.push_str(&before_query[..scheme_end + 3]);
      match authority.rfind('@') {
        Some(at) => {
          out.push_str("***@");
          out.push_str(&authority[at + 1..]);
        }
        None => out.push_str(authority),
      }
      out.push_str(&rest[authority_end..]);
    }
    None => out.push_str(before_query),
  }
  if let Some(q) = query {
    out.push('?');
    let parts: Vec<String> = q
      .split('&')
      .map(|pair| match pair.split_once('=') {
        Some((k, v)) if is_secret_key(k) && !v.is_empty() => format!("{k}=***"),
        _ => pair.to_string(),
      })
      .collect();
    out.push_str(&parts.join("&"));
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn spec(kind: &str, target: &str) -> SourceSpec {
    SourceSpec { kind: kind.into(), target: target.into(), redacted: target.into(), ..Default::default() }
  }

  #[test]
  fn redacts_credentials_and_secret_query_values() {
    assert_eq!(redact("rtsp://admin:hunter2@10.0.0.5:554/live"), "rtsp://***@10.0.0.5:554/live");
    assert_eq!(redact("rtsp://cam/live?password=x&channel=1"), "rtsp://cam/live?password=***&channel=1");
    assert_eq!(redact("rtsp://a:b@c@host/p"), "rtsp://***@host/p");
    assert_eq!(redact("file:///tmp/a.mp4"), "file:///tmp/a.mp4");
    assert_eq!(redact("rtsp://***@cam/live?password=***"), "rtsp://***@cam/live?password=***");
  }

  #[test]
  fn checks_each_kind() {
    let r = check(&SourceSpec { transport: Some("udp".into()), ..spec("rtsp", "rtsps://u:p@cam/live") }).unwrap();
    assert!(matches!(r.input, Input::Rtsp { udp: true, .. }));
    assert!(!r.redacted.contains("u:p"));
    let udp = SourceSpec { transport: Some("udp".into()), reorder_ms: Some(20), ..spec("rtsp", "rtsp://cam/live") };
    assert!(matches!(check(&udp).unwrap().input, Input::Rtsp { reorder_ms: Some(20), .. }));
    // TCP delivers in order: a reordering wait there is a mistake, said so.
    assert!(check(&SourceSpec { transport: None, ..udp }).is_err());
    assert!(check(&spec("rtsp", "http://cam/live")).is_err());
    assert!(check(&spec("file", "relative.mp4")).is_err());
    assert!(check(&SourceSpec { format: Some("rgb".into()), ..spec("v4l2", "/dev/video0") }).is_err());
    assert!(check(&SourceSpec { codec: Some("hevc".into()), ..spec("file", "/a.mp4") }).is_err());
    assert!(check(&spec("gopher", "x")).is_err());
    let t = check(&SourceSpec { fps: Some(29.97), width: Some(32), height: Some(32), ..spec("testsrc", "") }).unwrap();
    assert!(t.loop_ && t.realtime);
    assert!(matches!(t.input, Input::TestSrc(ClipSpec { width: 32, .. })));
    assert!(check(&SourceSpec { width: Some(1), height: Some(1), ..spec("testsrc", "") }).is_err());
    let options = HashMap::from([("fifo_size".to_string(), "1000".to_string())]);
    let s = check(&SourceSpec {
      input_format: Some("mpegts".into()),
      av_options: Some(options),
      ..spec("stream", "udp://127.0.0.1:5600")
    })
    .unwrap();
    assert!(s.is_live() && !s.loop_);
    assert!(
      matches!(s.input, Input::Stream { ref options, .. } if options == &[("fifo_size".to_string(), "1000".to_string())])
    );
    assert!(check(&spec("stream", "no-scheme")).is_err());
    assert!(check(&SourceSpec { input_format: Some("mpegts".into()), ..spec("file", "/a.ts") }).is_err());
  }
}
