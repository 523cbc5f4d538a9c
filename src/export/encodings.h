// mqcalib/src/export/encodings.h: SNPE / QNN / AIMET 0.6.1 encodings JSON (REFERENCE.md section 7).
//
//   {"activation_encodings": {tensor: [{"bitwidth": 8, "dtype": "int", "is_symmetric": "False",
//                                       "max": ..., "min": ..., "offset": ..., "scale": ...}]},
//    "param_encodings": {weight tensor: [one dict per output channel (one for per-tensor)]}}
// Keys are the engine's tensor names ("<layer>.weight" for parameters), in record order. Biases are
// not written: SNPE/QNN quantize biases themselves (int32 at s_in * s_w, as the simulation does).
//
// AIMET's encoding lives on an unsigned grid q_u in [0, 2^bitwidth - 1] with real = scale * (q_u + offset),
// so offset = -(zero point on that unsigned grid) <= 0:
//   unsigned schemes: offset = -zp                      (uint8 asym: zp 0..255 -> offset 0..-255)
//   signed schemes:   offset = -2^(bitwidth-1) - zp     (int8 symmetric, zp 0 -> offset -128)
// bitwidth is the grid's width: `bits`, minus one with reduce_range (FBGEMM's 7-bit [0,127] is
// bitwidth 7).
// min/max are the quantization grid's representable range, NOT the observed range:
//   min = scale * offset, max = scale * (2^bitwidth - 1 + offset)
// i.e. scale * (qmin - zp) and scale * (qmax - zp) for full-width grids, so that AIMET's invariant
// scale = (max - min) / (2^bitwidth - 1) holds and a tool recomputing scale/offset from min/max gets
// the simulated ones back. A narrow_range scheme ([-127,127]) is written on the full 8-bit grid
// (offset -128, min = -128 * scale): the runtime may produce -128 where the simulation clamps at -127.
// Symmetric encodings must have offset -2^(bitwidth-1) (-128 for 8 bits) or 0, else SNPE rejects them
// (aimet #2468, REFERENCE.md section 7): anything else throws mqcalib::Error naming the tensor.
// Numbers: "scale" is the float32 scale (printed as the shortest double that equals it); min/max are
// computed in double (exact: float * small integer).
#pragma once

#include <string>

#include "export/quant_record.h"

namespace mqcalib {

std::string encodings_json_text(const QuantRecord& record);
void write_encodings_json(const QuantRecord& record, const std::string& path);

}  // namespace mqcalib
