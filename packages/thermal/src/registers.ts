// MLX90640 memory map, register bits and frame layout: every address and offset in one place.

export const COLS = 32
export const ROWS = 24
export const PIXELS = COLS * ROWS // 768

/** Default 7-bit I²C address. */
export const DEFAULT_ADDRESS = 0x33

/** RAM: 768 pixel words then 64 auxiliary words, read-only. */
export const RAM_START = 0x0400
export const RAM_PIXELS_END = 0x06ff
export const AUX_START = 0x0700
export const RAM_END = 0x073f
export const AUX_WORDS = 64
export const RAM_WORDS = PIXELS + AUX_WORDS // 832

/** EEPROM: 832 words of calibration data, read-only for our purposes. */
export const EEPROM_START = 0x2400
export const EEPROM_END = 0x273f
export const EEPROM_WORDS = 832

/** Registers. */
export const REG_STATUS = 0x8000
export const REG_CONTROL1 = 0x800d
export const REG_I2C_CONFIG = 0x800f

/** Status register bits. */
export const STATUS_LAST_SUBPAGE_MASK = 0x0007
export const STATUS_DATA_READY = 0x0008
export const STATUS_OVERWRITE_ENABLE = 0x0010
export const STATUS_START_MEASUREMENT = 0x0020

/** Control register 1 bits. */
export const CTRL_SUBPAGE_MODE = 0x0001
export const CTRL_DATA_HOLD = 0x0004
export const CTRL_SUBPAGE_REPEAT = 0x0008
export const CTRL_REFRESH_SHIFT = 7
export const CTRL_REFRESH_MASK = 0x0380
export const CTRL_RESOLUTION_SHIFT = 10
export const CTRL_RESOLUTION_MASK = 0x0c00
export const CTRL_CHESS_MODE = 0x1000
/** Power-on default: subpage mode, 2 Hz, 18-bit, chess. */
export const CTRL_DEFAULT = 0x1901

/** Refresh-rate codes (bits 7..9) -> subpage rate in Hz. */
export const REFRESH_RATES_HZ = [0.5, 1, 2, 4, 8, 16, 32, 64] as const

/** Offsets of the auxiliary words used by the calibration (relative to AUX_START). */
export const AUX_VBE = 0 // 0x0700 Ta_Vbe
export const AUX_CP_SP0 = 8 // 0x0708 compensation pixel, subpage 0
export const AUX_GAIN = 10 // 0x070A gain
export const AUX_PTAT = 32 // 0x0720 Ta_PTAT
export const AUX_CP_SP1 = 40 // 0x0728 compensation pixel, subpage 1
export const AUX_VDD = 42 // 0x072A VDDpix

/** 834-word frame layout (the reference driver's): pixels, aux, control register 1, subpage. */
export const FRAME_WORDS = RAM_WORDS + 2 // 834
export const FRAME_CTRL_INDEX = RAM_WORDS // 832
export const FRAME_SUBPAGE_INDEX = RAM_WORDS + 1 // 833

/** Resolution codes (bits 10..11): 16, 17, 18 (default), 19 bit ADC. */
export const RESOLUTION_BITS = [16, 17, 18, 19] as const
