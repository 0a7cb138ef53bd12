//! Codec names as heart spells them, and the codecs it decodes.

pub fn normalize_codec(name: &str) -> String {
  match name.to_ascii_lowercase().as_str() {
    "h265" | "hevc" => "hevc".into(),
    "h264" | "avc" => "h264".into(),
    "mjpeg" | "mjpg" | "jpeg" => "mjpeg".into(),
    other => other.into(),
  }
}

/// Codecs heart decodes. Others fail at open with UNSUPPORTED_CODEC rather
/// than taking an untested path.
pub const SUPPORTED_CODECS: &[&str] = &["h264", "hevc", "mjpeg", "rawvideo"];
