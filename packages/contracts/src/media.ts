// Pixel formats and decoder names: the vocabulary the config, the native
// crate and the ring share.

/** Pixel format names, in the order of their numeric codes in ring slot metadata. */
export const PIXEL_FORMAT_NAMES = Object.freeze(['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24', 'grayf32'] as const)
export type PixelFormatName = (typeof PIXEL_FORMAT_NAMES)[number]

/** The formats a camera can be asked to output (grayf32 is a vision-internal format). */
export const CAMERA_PIXEL_FORMATS = Object.freeze(['yuv420p', 'nv12', 'gray', 'rgb24', 'bgr24'] as const)
export type CameraPixelFormat = (typeof CAMERA_PIXEL_FORMATS)[number]

/** Decoder backends a camera may ask for; `auto` picks hardware where present. */
export const DECODER_NAMES = Object.freeze(['auto', 'software', 'vaapi', 'cuda', 'v4l2m2m'] as const)
export type DecoderName = (typeof DECODER_NAMES)[number]
