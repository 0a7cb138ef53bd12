//! Source URLs: which kind of source, its parameters, and the redacted form
//! that is the only form allowed into messages, logs and health.

use crate::error::{HeartError, HeartResult};

#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
  Rtsp,
  File,
  V4l2,
  TestSrc,
}

#[derive(Debug, Clone)]
pub struct SourceUrl {
  pub kind: SourceKind,
  /// What FFmpeg opens: the URL without heart's own query parameters, or a path.
  pub target: String,
  /// heart's own parameters taken from the query string (transport, loop, size, ...).
  pub params: Vec<(String, String)>,
  /// Safe to print: credentials and secret-looking query values replaced by `***`.
  pub redacted: String,
}

impl SourceUrl {
  pub fn param(&self, key: &str) -> Option<&str> {
    self.params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
  }

  pub fn flag(&self, key: &str) -> HeartResult<Option<bool>> {
    match self.param(key) {
      None => Ok(None),
      Some("1" | "true" | "yes" | "") => Ok(Some(true)),
      Some("0" | "false" | "no") => Ok(Some(false)),
      Some(other) => Err(HeartError::invalid(format!(
        "URL parameter {key}={other} is not a boolean; use {key}=1 or {key}=0"
      ))),
    }
  }
}

/// Query keys whose values are treated as secrets when redacting.
fn is_secret_key(key: &str) -> bool {
  let k = key.to_ascii_lowercase();
  ["pass", "pwd", "token", "secret", "auth", "key", "user", "signature"].iter().any(|s| k.contains(s))
}

/// Replaces `user:pass@` with `***@` and secret-looking query values with
/// `***`. Works on anything URL-shaped, including unparsable input.
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
        Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
        _ => pair.to_string(),
      })
      .collect();
    out.push_str(&parts.join("&"));
  }
  out
}

fn percent_decode(s: &str) -> String {
  let bytes = s.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' && i + 2 < bytes.len() {
      if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
        out.push(v);
        i += 3;
        continue;
      }
    }
    out.push(bytes[i]);
    i += 1;
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// heart's own query parameters per source kind; anything else stays in the
/// URL FFmpeg sees (an RTSP camera may need its own `?channel=1`).
fn own_params(kind: &SourceKind) -> &'static [&'static str] {
  match kind {
    SourceKind::Rtsp => &["transport"],
    SourceKind::File => &["loop", "realtime"],
    SourceKind::V4l2 => &["format", "size", "fps"],
    SourceKind::TestSrc => &["size", "fps", "codec", "seconds"],
  }
}

pub fn parse(url: &str) -> HeartResult<SourceUrl> {
  let redacted = redact(url);
  let scheme_end = url.find("://").ok_or_else(|| {
    HeartError::invalid(format!(
      "source URL {redacted} has no scheme; use rtsp://, file://, v4l2:// or testsrc://"
    ))
  })?;
  let scheme = url[..scheme_end].to_ascii_lowercase();
  let kind = match scheme.as_str() {
    "rtsp" | "rtsps" => SourceKind::Rtsp,
    "file" => SourceKind::File,
    "v4l2" => SourceKind::V4l2,
    "testsrc" => SourceKind::TestSrc,
    other => {
      return Err(HeartError::invalid(format!(
        "unsupported source scheme '{other}' in {redacted}; use rtsp://, file://, v4l2:// or testsrc://"
      )))
    }
  };
  let (base, query) = match url.find('?') {
    Some(i) => (&url[..i], &url[i + 1..]),
    None => (url, ""),
  };
  let own = own_params(&kind);
  let mut params = Vec::new();
  let mut foreign = Vec::new();
  for pair in query.split('&').filter(|p| !p.is_empty()) {
    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
    if own.contains(&k) {
      params.push((k.to_string(), percent_decode(v)));
    } else {
      foreign.push(pair);
    }
  }
  let rest = &base[scheme_end + 3..];
  let target = match kind {
    SourceKind::Rtsp => {
      let mut t = base.to_string();
      if !foreign.is_empty() {
        t.push('?');
        t.push_str(&foreign.join("&"));
      }
      t
    }
    SourceKind::File | SourceKind::V4l2 => {
      // file:///abs/path and v4l2:///dev/video0: the authority must be empty (or localhost).
      let path = match rest.find('/') {
        Some(0) => rest,
        Some(i) if &rest[..i] == "localhost" => &rest[i..],
        _ => {
          return Err(HeartError::invalid(format!(
            "{redacted} needs an absolute path: write {scheme}:///path (three slashes)"
          )))
        }
      };
      if !foreign.is_empty() {
        return Err(HeartError::invalid(format!(
          "unknown parameter(s) {} in {redacted}; {scheme}:// knows {}",
          foreign.join(", "),
          own.join(", ")
        )));
      }
      percent_decode(path)
    }
    SourceKind::TestSrc => {
      if !foreign.is_empty() {
        return Err(HeartError::invalid(format!(
          "unknown parameter(s) {} in {redacted}; testsrc:// knows {}",
          foreign.join(", "),
          own.join(", ")
        )));
      }
      String::new()
    }
  };
  Ok(SourceUrl { kind, target, params, redacted })
}

/// Parses `1920x1080`.
pub fn parse_size(s: &str, what: &str) -> HeartResult<(u32, u32)> {
  let parsed = s
    .split_once(['x', 'X'])
    .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
  match parsed {
    Some((w, h)) if w > 0 && h > 0 && w <= 16384 && h <= 16384 => Ok((w, h)),
    _ => Err(HeartError::invalid(format!("{what}={s} is not a size; write it like 1920x1080"))),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn redacts_credentials_and_secret_query_values() {
    assert_eq!(redact("rtsp://admin:hunter2@10.0.0.5:554/live"), "rtsp://***@10.0.0.5:554/live");
    assert_eq!(redact("rtsp://cam/live?password=x&channel=1"), "rtsp://cam/live?password=***&channel=1");
    assert_eq!(redact("rtsp://a:b@c@host/p"), "rtsp://***@host/p");
    assert_eq!(redact("file:///tmp/a.mp4"), "file:///tmp/a.mp4");
  }

  #[test]
  fn keeps_foreign_query_for_rtsp_and_takes_own() {
    let u = parse("rtsp://u:p@cam/live?channel=1&transport=udp").unwrap();
    assert_eq!(u.target, "rtsp://u:p@cam/live?channel=1");
    assert_eq!(u.param("transport"), Some("udp"));
    assert!(!u.redacted.contains("u:p"));
  }

  #[test]
  fn parses_file_and_v4l2_paths() {
    let f = parse("file:///tmp/a%20b.mp4?loop=1").unwrap();
    assert_eq!(f.target, "/tmp/a b.mp4");
    assert_eq!(f.flag("loop").unwrap(), Some(true));
    assert!(parse("file://tmp/a.mp4").is_err());
    let v = parse("v4l2:///dev/video0?format=mjpeg&size=1280x720").unwrap();
    assert_eq!(v.target, "/dev/video0");
    assert_eq!(parse_size(v.param("size").unwrap(), "size").unwrap(), (1280, 720));
    assert!(parse("v4l2:///dev/video0?bogus=1").is_err());
    assert!(parse("gopher://x").is_err());
  }
}
