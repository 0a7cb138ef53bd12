//! H.264 / H.265 byte streams in Annex B form (NAL units behind 00 00 01
//! start codes): walking the units, picking out the parameter sets a decoder
//! or muxer needs (VPS, SPS, PPS), and the RFC 6381 codec string a browser's
//! MediaSource.isTypeSupported() takes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
  H264,
  Hevc,
}

impl VideoCodec {
  /// The codecs with a compressed path (packet tap, MP4 muxer), by heart's normalised name.
  pub fn from_name(name: &str) -> Option<VideoCodec> {
    match name {
      "h264" => Some(VideoCodec::H264),
      "hevc" => Some(VideoCodec::Hevc),
      _ => None,
    }
  }

  pub fn nal_type(self, nal: &[u8]) -> u8 {
    match (self, nal.first()) {
      (_, None) => 0,
      (VideoCodec::H264, Some(b)) => b & 0x1f,
      (VideoCodec::Hevc, Some(b)) => (b >> 1) & 0x3f,
    }
  }

  /// Parameter-set NAL types in the order a decoder wants them.
  fn parameter_set_types(self) -> &'static [u8] {
    match self {
      VideoCodec::H264 => &[7, 8],
      VideoCodec::Hevc => &[32, 33, 34],
    }
  }

  fn is_slice(self, nal_type: u8) -> bool {
    match self {
      VideoCodec::H264 => (1..=5).contains(&nal_type),
      VideoCodec::Hevc => nal_type < 32,
    }
  }

  fn sps_type(self) -> u8 {
    match self {
      VideoCodec::H264 => 7,
      VideoCodec::Hevc => 33,
    }
  }
}

/// Whether `data` begins with a start code (else it is avcC / hvcC or length-prefixed).
pub fn is_annexb(data: &[u8]) -> bool {
  data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// The NAL units of an Annex B buffer, start codes and trailing zero bytes removed.
pub struct NalUnits<'a> {
  data: &'a [u8],
  pos: usize,
}

/// The index just past the next start code at or after `from`.
fn next_start(data: &[u8], from: usize) -> Option<usize> {
  let mut i = from;
  while i + 3 <= data.len() {
    if data[i + 2] > 1 {
      // No start code can end at i + 2: skip three bytes at once.
      i += 3;
    } else if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
      return Some(i + 3);
    } else {
      i += 1;
    }
  }
  None
}

pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
  NalUnits { data, pos: next_start(data, 0).unwrap_or(data.len()) }
}

impl<'a> Iterator for NalUnits<'a> {
  type Item = &'a [u8];
  fn next(&mut self) -> Option<&'a [u8]> {
    if self.pos >= self.data.len() {
      return None;
    }
    let start = self.pos;
    let (mut end, next) = match next_start(self.data, start) {
      Some(n) => (n - 3, n),
      None => (self.data.len(), self.data.len()),
    };
    while end > start && self.data[end - 1] == 0 {
      end -= 1;
    }
    self.pos = next;
    Some(&self.data[start..end])
  }
}

/// The parameter sets at the head of an access unit (or a config blob), each
/// behind a 4-byte start code, in decoder order (VPS, SPS, PPS); empty when
/// it has no SPS. Stops at the first slice: parameter sets come before it.
pub fn parameter_sets(data: &[u8], codec: VideoCodec) -> Vec<u8> {
  let mut found: Vec<&[u8]> = Vec::new();
  for nal in nal_units(data) {
    let t = codec.nal_type(nal);
    if codec.is_slice(t) {
      break;
    }
    if codec.parameter_set_types().contains(&t) && !found.contains(&nal) {
      found.push(nal);
    }
  }
  if !found.iter().any(|n| codec.nal_type(n) == codec.sps_type()) {
    return Vec::new();
  }
  let mut out = Vec::new();
  for wanted in codec.parameter_set_types() {
    for nal in found.iter().filter(|n| codec.nal_type(n) == *wanted) {
      out.extend_from_slice(&[0, 0, 0, 1]);
      out.extend_from_slice(nal);
    }
  }
  out
}

/// The first `limit` payload bytes of a NAL unit with emulation-prevention
/// bytes (the 03 of 00 00 03) removed.
fn rbsp_prefix(nal: &[u8], limit: usize) -> Vec<u8> {
  let mut out = Vec::with_capacity(limit);
  let mut zeros = 0;
  for &b in nal {
    if out.len() == limit {
      break;
    }
    if zeros >= 2 && b == 3 {
      zeros = 0;
      continue;
    }
    zeros = if b == 0 { zeros + 1 } else { 0 };
    out.push(b);
  }
  out
}

/// The RFC 6381 codec string ('avc1.64001f', 'hvc1.1.6.L93.B0') from the
/// SPS in `config` (Annex B); None without a readable SPS.
pub fn mime_codec(config: &[u8], codec: VideoCodec) -> Option<String> {
  let sps = nal_units(config).find(|n| codec.nal_type(n) == codec.sps_type())?;
  match codec {
    VideoCodec::H264 => {
      // profile_idc, the constraint flags and level_idc follow the one-byte NAL header.
      let b = rbsp_prefix(sps, 4);
      (b.len() == 4).then(|| format!("avc1.{:02x}{:02x}{:02x}", b[1], b[2], b[3]))
    }
    VideoCodec::Hevc => {
      // Two header bytes, one byte of ids / sub-layer count, then
      // profile_tier_level: space(2) tier(1) profile(5), 32 compatibility
      // flags, 48 bits of constraint flags, level_idc.
      let b = rbsp_prefix(sps, 15);
      if b.len() < 15 {
        return None;
      }
      let ptl = &b[3..];
      let space = ["", "A", "B", "C"][(ptl[0] >> 6) as usize];
      let tier = if ptl[0] & 0x20 != 0 { 'H' } else { 'L' };
      let profile = ptl[0] & 0x1f;
      let compat = u32::from_be_bytes([ptl[1], ptl[2], ptl[3], ptl[4]]).reverse_bits();
      let level = ptl[11];
      let mut constraints: Vec<u8> = ptl[5..11].to_vec();
      while constraints.last() == Some(&0) {
        constraints.pop();
      }
      let mut s = format!("hvc1.{space}{profile}.{compat:x}.{tier}{level}");
      for c in constraints {
        s.push_str(&format!(".{c:X}"));
      }
      Some(s)
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn splits_units_on_three_and_four_byte_start_codes() {
    let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0];
    let units: Vec<&[u8]> = nal_units(&data).collect();
    assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]);
  }

  #[test]
  fn parameter_sets_stop_at_the_first_slice_and_need_an_sps() {
    let au =
      [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x68, 9, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 1, 0x65, 1, 0, 0, 1, 0x67, 7];
    assert_eq!(parameter_sets(&au, VideoCodec::H264), vec![0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 9]);
    assert!(parameter_sets(&[0, 0, 1, 0x68, 9], VideoCodec::H264).is_empty());
  }

  #[test]
  fn h264_codec_string_is_profile_constraints_level() {
    let config = [0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac, 0, 0, 0, 1, 0x68, 0xeb];
    assert_eq!(mime_codec(&config, VideoCodec::H264).as_deref(), Some("avc1.64001f"));
  }

  #[test]
  fn hevc_codec_string_follows_rfc6381() {
    // A Main profile, level 3.1 SPS head: vps id 0, 1 sub-layer, compat flags 1 and 2,
    // progressive + frame-only constraint flags (0xB0), level_idc 93.
    let sps = [0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0xb0, 0, 0, 3, 0, 0, 3, 0, 93, 0xa0];
    let mut config = vec![0, 0, 0, 1];
    config.extend_from_slice(&sps);
    assert_eq!(mime_codec(&config, VideoCodec::Hevc).as_deref(), Some("hvc1.1.6.L93.B0"));
  }
}
