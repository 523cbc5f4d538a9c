// mqcalib/src/export/ncnn_table.h: ncnn int8 calibration table, as ncnn2table writes it and ncnn2int8
// reads it (REFERENCE.md section 7):
//   <layer>_param_0 m_0 m_1 ... m_{C-1}      weight multipliers, one per output channel, then
//   <layer> m                                 its input blob's multiplier, one line per layer
// (all weight lines first, then all blob lines, record order). ncnn quantizes q = round(x * m), so
// each value is the reciprocal of the simulation's scale: m = 1 / scale = 127 / absmax for int8
// narrow symmetric weights, computed in double and rounded once to float32, printed with %.9g (enough
// digits to read back the same float32). Note: x * m and the simulation's x / scale can differ by one
// rounding at exact ties.
// Layers kept in fp32 (provenance.skipped_layers) appear as commented lines "#<layer>_param_0" and
// "#<layer>" without values: a key ncnn never matches, so ncnn2int8 leaves the layer in fp32.
// The input of a layer is record.layer_inputs[layer], else the activation record whose `layer` is it.
// ncnn runs int8 symmetric (zero point 0) only: any other weight or input throws mqcalib::Error.
#pragma once

#include <string>

#include "export/quant_record.h"

namespace mqcalib {

std::string ncnn_table_text(const QuantRecord& record);
void write_ncnn_table(const QuantRecord& record, const std::string& path);

}  // namespace mqcalib
