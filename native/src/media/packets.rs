//! The packet tap: every compressed video packet the demuxer hands the
//! decoder, normalised to Annex B and copied into a bounded queue that JS
//! drains with `source.takePackets()` (the recorder and the passthrough live
//! view need the camera's own bitstream, not decoded frames).
//!
//! The queue has its own lock: takePackets() runs on the JS thread while a
//! readInto() holds the pipeline on a pool thread.

use std::collections::VecDeque;
use std::ptr;
use std::sync::Mutex;

use napi_derive::napi;

use super::{q2d, Pipeline, NOPTS};
use crate::error::{map_error, ErrorCode, HeartError, HeartResult, AVERROR_EAGAIN};
use crate::ffi;
use crate::nal::{is_annexb, parameter_sets, VideoCodec};

/// Bytes of the fixed header before each packet's payload in takePackets()'
/// records: u32 payloadBytes, u32 flags, f64 ptsUs, f64 dtsUs, f64
/// durationUs, u64 captureTsNs (little-endian).
#[napi]
pub const PACKET_RECORD_HEADER_BYTES: u32 = 40;
const HEADER: usize = PACKET_RECORD_HEADER_BYTES as usize;
/// Record flag bit 0: the packet starts a keyframe (IDR / IRAP).
pub const PACKET_FLAG_KEYFRAME: u32 = 1;

/// Packets the queue holds before it drops the oldest.
const MAX_PACKETS: usize = 512;
/// Payload bytes the queue holds before it drops the oldest (a minute of 4 Mbit/s).
const MAX_BYTES: usize = 32 << 20;
/// Emptied payload buffers kept for reuse, by count and by capacity: enough
/// for the packets of the few frames between two takePackets() calls without
/// keeping a full queue's worth of memory after a burst.
const SPARE_BUFFERS: usize = 64;
const SPARE_BYTES: usize = 8 << 20;

/// What one takePackets() call copied and what it left.
#[napi(object)]
pub struct PacketBatch {
  /// Records written to dst.
  pub count: u32,
  /// Bytes of dst written (records with their padding).
  pub bytes: u32,
  /// Packets dropped from the full queue (oldest first) since the previous call.
  pub overflowed: u32,
  /// Packets still queued because dst was full.
  pub pending: u32,
  /// When not 0: the next record alone needs this many bytes, more than dst
  /// holds; call again with a buffer at least this large.
  pub need_bytes: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct PacketMeta {
  pub keyframe: bool,
  pub pts_us: f64,
  pub dts_us: f64,
  pub duration_us: f64,
  pub capture_ts_ns: u64,
}

struct Queued {
  data: Vec<u8>,
  meta: PacketMeta,
}

fn record_bytes(payload: usize) -> usize {
  HEADER + payload.div_ceil(8) * 8
}

#[derive(Default)]
struct Queue {
  packets: VecDeque<Queued>,
  bytes: usize,
  overflowed: u32,
  spare: Vec<Vec<u8>>,
  spare_bytes: usize,
  closed: bool,
}

impl Queue {
  fn recycle(&mut self, buf: Vec<u8>) {
    if self.spare.len() < SPARE_BUFFERS && self.spare_bytes + buf.capacity() <= SPARE_BYTES {
      self.spare_bytes += buf.capacity();
      self.spare.push(buf);
    }
  }
}

/// The bounded packet queue shared by the pipeline (producer) and the Source (consumer).
#[derive(Default)]
pub struct PacketTap {
  queue: Mutex<Queue>,
}

impl PacketTap {
  fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
    self.queue.lock().unwrap_or_else(|p| p.into_inner())
  }

  /// Queues a copy of `data`, dropping the oldest packets beyond the bounds.
  pub fn push(&self, data: &[u8], meta: PacketMeta) {
    let mut buf = {
      let mut q = self.lock();
      if q.closed {
        return;
      }
      let buf = q.spare.pop().unwrap_or_default();
      q.spare_bytes -= buf.capacity();
      buf
    };
    // Copied outside the lock: a keyframe is hundreds of kB and takePackets() must not wait on it.
    buf.clear();
    buf.extend_from_slice(data);
    let mut q = self.lock();
    if q.closed {
      return;
    }
    while !q.packets.is_empty() && (q.packets.len() >= MAX_PACKETS || q.bytes + buf.len() > MAX_BYTES) {
      let old = q.packets.pop_front().expect("not empty");
      q.bytes -= old.data.len();
      q.overflowed += 1;
      q.recycle(old.data);
    }
    q.bytes += buf.len();
    q.packets.push_back(Queued { data: buf, meta });
  }

  /// Copies whole records into `dst` (`len` bytes, raw memory other threads
  /// may read: written through the pointer only).
  pub fn take_into(&self, dst: *mut u8, len: usize) -> PacketBatch {
    let mut q = self.lock();
    let mut batch =
      PacketBatch { count: 0, bytes: 0, overflowed: std::mem::take(&mut q.overflowed), pending: 0, need_bytes: 0 };
    let mut at = 0usize;
    while let Some(front) = q.packets.front() {
      let size = record_bytes(front.data.len());
      if at + size > len {
        if batch.count == 0 {
          batch.need_bytes = size as u32;
        }
        break;
      }
      let p = q.packets.pop_front().expect("front exists");
      let m = p.meta;
      let mut header = [0u8; HEADER];
      header[0..4].copy_from_slice(&(p.data.len() as u32).to_le_bytes());
      header[4..8].copy_from_slice(&(if m.keyframe { PACKET_FLAG_KEYFRAME } else { 0 }).to_le_bytes());
      header[8..16].copy_from_slice(&m.pts_us.to_le_bytes());
      header[16..24].copy_from_slice(&m.dts_us.to_le_bytes());
      header[24..32].copy_from_slice(&m.duration_us.to_le_bytes());
      header[32..40].copy_from_slice(&m.capture_ts_ns.to_le_bytes());
      let pad = size - HEADER - p.data.len();
      // SAFETY: at + size <= len, the caller's buffer length; the source slices are our own.
      unsafe {
        ptr::copy_nonoverlapping(header.as_ptr(), dst.add(at), HEADER);
        ptr::copy_nonoverlapping(p.data.as_ptr(), dst.add(at + HEADER), p.data.len());
        ptr::write_bytes(dst.add(at + HEADER + p.data.len()), 0, pad);
      }
      at += size;
      batch.count += 1;
      q.bytes -= p.data.len();
      q.recycle(p.data);
    }
    batch.bytes = at as u32;
    batch.pending = q.packets.len() as u32;
    batch
  }

  /// Drops the queue and refuses further packets (the source closed).
  pub fn close(&self) {
    let mut q = self.lock();
    q.closed = true;
    q.packets.clear();
    q.spare.clear();
    q.spare_bytes = 0;
    q.bytes = 0;
  }
}

/// FFmpeg's h264_mp4toannexb / hevc_mp4toannexb filter for streams whose
/// packets are length-prefixed (avcC / hvcC extradata: mp4 files, the test
/// camera). It also puts the parameter sets in band before keyframes.
pub struct AnnexBFilter {
  bsf: *mut ffi::AVBSFContext,
  pkt: *mut ffi::AVPacket,
}

// SAFETY: used by one thread at a time, inside the Pipeline.
unsafe impl Send for AnnexBFilter {}

impl Drop for AnnexBFilter {
  fn drop(&mut self) {
    // SAFETY: owned or null.
    unsafe {
      ffi::av_bsf_free(&mut self.bsf);
      ffi::av_packet_free(&mut self.pkt);
    }
  }
}

impl AnnexBFilter {
  fn open(par: *const ffi::AVCodecParameters, time_base: ffi::AVRational, codec: VideoCodec) -> HeartResult<Self> {
    let name = match codec {
      VideoCodec::H264 => c"h264_mp4toannexb",
      VideoCodec::Hevc => c"hevc_mp4toannexb",
    };
    let oom = || HeartError::new(ErrorCode::Internal, "out of memory opening the Annex B filter");
    // SAFETY: standard BSF setup; everything allocated is owned by `filter` and freed by its Drop on failure.
    unsafe {
      let f = ffi::av_bsf_get_by_name(name.as_ptr());
      if f.is_null() {
        return Err(HeartError::new(
          ErrorCode::UnsupportedCodec,
          format!("this FFmpeg build has no {} bitstream filter", name.to_string_lossy()),
        ));
      }
      let mut filter = AnnexBFilter { bsf: ptr::null_mut(), pkt: ffi::av_packet_alloc() };
      if filter.pkt.is_null() || ffi::av_bsf_alloc(f, &mut filter.bsf) < 0 {
        return Err(oom());
      }
      let r = ffi::avcodec_parameters_copy((*filter.bsf).par_in, par);
      if r < 0 {
        return Err(oom());
      }
      (*filter.bsf).time_base_in = time_base;
      let r = ffi::av_bsf_init(filter.bsf);
      if r < 0 {
        return Err(map_error(r, "opening the Annex B filter for", "the stream"));
      }
      Ok(filter)
    }
  }

  /// The Annex B parameter sets the filter derived from the avcC / hvcC.
  fn config(&self) -> Vec<u8> {
    // SAFETY: par_out is set up by av_bsf_init; extradata has extradata_size bytes.
    unsafe {
      let par = (*self.bsf).par_out;
      if (*par).extradata.is_null() || (*par).extradata_size <= 0 {
        return Vec::new();
      }
      std::slice::from_raw_parts((*par).extradata, (*par).extradata_size as usize).to_vec()
    }
  }
}

/// The tap's state inside the pipeline: the queue it fills, the filter (when
/// needed) and the parameter sets it found.
pub struct PacketPath {
  pub tap: std::sync::Arc<PacketTap>,
  codec: VideoCodec,
  filter: Option<AnnexBFilter>,
  /// Annex B VPS/SPS/PPS; empty until known.
  pub config: Vec<u8>,
}

fn packet_bytes<'a>(pkt: *const ffi::AVPacket) -> &'a [u8] {
  // SAFETY: a filled packet's data holds size bytes (or is NULL with size 0).
  unsafe {
    if (*pkt).data.is_null() || (*pkt).size <= 0 {
      &[]
    } else {
      std::slice::from_raw_parts((*pkt).data, (*pkt).size as usize)
    }
  }
}

impl Pipeline {
  /// Sets up the tap when packets were asked for and the stream is H.264 / HEVC.
  pub(super) fn open_packet_path(&mut self) -> HeartResult<()> {
    if !self.cfg.packets {
      return Ok(());
    }
    let Some(codec) = VideoCodec::from_name(&crate::codec::normalize_codec(&self.facts.codec)) else {
      return Ok(());
    };
    let par = self.par();
    // SAFETY: par is the open stream's parameters; extradata has extradata_size bytes.
    let extradata = unsafe {
      if (*par).extradata.is_null() || (*par).extradata_size <= 0 {
        &[][..]
      } else {
        std::slice::from_raw_parts((*par).extradata, (*par).extradata_size as usize)
      }
    };
    // avcC / hvcC begin with configurationVersion 1; RTSP's extradata is already Annex B.
    let (filter, config) = if extradata.first() == Some(&1) {
      let f = AnnexBFilter::open(par, self.time_base, codec)?;
      let config = parameter_sets(&f.config(), codec);
      (Some(f), config)
    } else if is_annexb(extradata) {
      (None, parameter_sets(extradata, codec))
    } else {
      (None, Vec::new())
    };
    self.packets = Some(PacketPath { tap: Default::default(), codec, filter, config });
    Ok(())
  }

  /// Copies the packet just read (in `pkt`, received at `capture`) into the tap.
  pub(super) fn tap_packet(&mut self, capture: u64) -> HeartResult<()> {
    let (time_base, loop_offset, pkt) = (q2d(self.time_base), self.loop_offset, self.pkt);
    let Some(path) = self.packets.as_mut() else { return Ok(()) };
    let us = |ts: i64| if ts == NOPTS { f64::NAN } else { (ts + loop_offset) as f64 * time_base * 1e6 };
    let deliver = |path: &mut PacketPath, p: *const ffi::AVPacket| {
      let data = packet_bytes(p);
      // SAFETY: p is a filled packet.
      let meta = unsafe {
        PacketMeta {
          keyframe: (*p).flags & ffi::AV_PKT_FLAG_KEY as i32 != 0,
          pts_us: us((*p).pts),
          dts_us: us((*p).dts),
          duration_us: (*p).duration.max(0) as f64 * time_base * 1e6,
          capture_ts_ns: capture,
        }
      };
      if meta.keyframe {
        // In-band parameter sets win: they are what the camera sends now
        // (an RTSP camera may announce none, or change them mid-stream).
        let fresh = parameter_sets(data, path.codec);
        if !fresh.is_empty() && fresh != path.config {
          path.config = fresh;
        }
      }
      path.tap.push(data, meta);
    };
    let Some(filter) = path.filter.as_mut() else {
      deliver(path, pkt);
      return Ok(());
    };
    let (bsf, out) = (filter.bsf, filter.pkt);
    // SAFETY: bsf/out are owned by the filter; pkt is the filled input packet, referenced (not moved) into the filter.
    unsafe {
      let r = ffi::av_packet_ref(out, pkt);
      if r < 0 {
        return Err(HeartError::new(ErrorCode::Internal, "out of memory copying a packet for the tap"));
      }
      let r = ffi::av_bsf_send_packet(bsf, out);
      if r < 0 {
        ffi::av_packet_unref(out);
        // A packet the filter cannot parse is damaged: the decoder counts it; the tap skips it.
        return Ok(());
      }
      loop {
        let r = ffi::av_bsf_receive_packet(bsf, out);
        if r == AVERROR_EAGAIN || r < 0 {
          break;
        }
        deliver(path, out);
        ffi::av_packet_unref(out);
      }
    }
    Ok(())
  }
}
