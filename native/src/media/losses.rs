//! Losses: frames the decoder failed on or swallowed without a word, each
//! counted once (docs/native.md, "Decode errors").

use super::{Pipeline, NOPTS};

impl Pipeline {
  /// The frame with `pts` came out of the decoder and its receipt was at
  /// `index`. Frames come out in presentation order, so a packet sent before
  /// it with an earlier pts will never come out: the decoder swallowed it
  /// (H.264/H.265 decoders drop a frame whose slice headers are damaged
  /// without returning an error). Each counts as a decode error, except
  /// while the decoder waits for its first keyframe after (re)starting, and
  /// for interlaced frames (`count` false), whose fields may have come in
  /// packets of their own.
  pub(super) fn settle_swallowed(&mut self, index: usize, pts: i64, count: bool) {
    let mut lost = 0u32;
    let mut i = 0;
    let mut end = index;
    while i < end {
      let (p, _) = self.receipt[i];
      if p != NOPTS && p < pts {
        self.receipt.remove(i);
        end -= 1;
        lost += 1;
      } else {
        i += 1;
      }
    }
    if self.decoder_primed && count {
      self.decode_errors += lost;
    }
  }

  /// Whether a frame the decoder fails on will be counted by
  /// settle_swallowed (its receipt left behind, with a timestamp), so the
  /// error it reports must not be counted again.
  pub(super) fn losses_tracked(&self) -> bool {
    self.decoder_primed && self.progressive && self.receipt.back().is_some_and(|(p, _)| *p != NOPTS)
  }
}
