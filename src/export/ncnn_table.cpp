// mqcalib/src/export/ncnn_table.cpp (format: ncnn_table.h)
#include "export/ncnn_table.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "export/atomic_file.h"
#include "export/format_util.h"

namespace mqcalib {

namespace {

// ncnn's int8 grid (REFERENCE.md section 2, ncnn row): 8-bit signed symmetric, zero point 0.
constexpr int kNcnnBits = 8;

void check_int8_symmetric(const TensorQuant& t) {
  const QScheme& s = t.scheme;
  std::string why;
  if (s.bits != kNcnnBits || s.reduce_range)
    why = std::to_string(s.reduce_range ? s.bits - 1 : s.bits) + "-bit grid (ncnn runs int8 only)";
  else if (s.signedness != Signedness::Signed || s.symmetry != Symmetry::Symmetric)
    why = "not signed symmetric";
  for (size_t c = 0; why.empty() && c < t.params.zero_point.size(); ++c)
    if (t.params.zero_point[c] != 0) why = "zero point " + std::to_string(t.params.zero_point[c]) + " (ncnn needs 0)";
  if (t.params.scale.empty())
    why = "no scale";
  else if (t.params.scale.size() != t.params.zero_point.size())
    why = std::to_string(t.params.scale.size()) + " scales but " + std::to_string(t.params.zero_point.size()) +
          " zero points";
  if (!why.empty()) throw Error("ncnn table: cannot express " + describe_tensor(t) + ": " + why);
}

std::string multiplier(const TensorQuant& t, size_t c) {
  const float s = t.params.scale[c];
  if (!(std::isfinite(s) && s > 0))
    throw Error("ncnn table: " + describe_tensor(t) + ": scale is not finite and positive");
  const float m = static_cast<float>(1.0 / static_cast<double>(s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(m));
  return buf;
}

}  // namespace

std::string ncnn_table_text(const QuantRecord& rec) {
  std::string weights, blobs;
  std::set<std::string> layers;
  for (const TensorQuant& t : rec.tensors) {
    if (t.role != TensorRole::Weight) continue;
    check_int8_symmetric(t);
    if (t.layer.empty() || t.layer.find_first_of(" \t\r\n") != std::string::npos)
      throw Error("ncnn table: layer name '" + t.layer + "' of weight '" + t.tensor +
                  "' is empty or contains whitespace");
    if (!layers.insert(t.layer).second) throw Error("ncnn table: layer '" + t.layer + "' has two weight records");
    weights += t.layer + "_param_0";
    for (size_t c = 0; c < t.params.scale.size(); ++c) weights += " " + multiplier(t, c);
    weights += "\n";

    const TensorQuant* input = nullptr;
    auto it = rec.layer_inputs.find(t.layer);
    for (const TensorQuant& a : rec.tensors) {
      if (a.role != TensorRole::Activation) continue;
      if (it != rec.layer_inputs.end() ? a.tensor == it->second : a.layer == t.layer) {
        input = &a;
        break;
      }
    }
    if (!input)
      throw Error("ncnn table: layer '" + t.layer + "' has quantized weights but no quantized input " +
                  (it != rec.layer_inputs.end() ? "(activation '" + it->second + "' is not in the record)"
                                                : "(no activation record for it and no layer_inputs entry)"));
    check_int8_symmetric(*input);
    if (input->params.scale.size() != 1)
      throw Error("ncnn table: input " + describe_tensor(*input) + " is not per-tensor");
    blobs += t.layer + " " + multiplier(*input, 0) + "\n";
  }
  for (const std::string& skipped : rec.provenance.skipped_layers) {
    if (layers.count(skipped))
      throw Error("ncnn table: layer '" + skipped + "' is listed as skipped but has quantized weights");
    weights += "#" + skipped + "_param_0\n";
    blobs += "#" + skipped + "\n";
  }
  return weights + blobs;
}

void write_ncnn_table(const QuantRecord& rec, const std::string& path) {
  write_file_atomic(path, ncnn_table_text(rec));
}

}  // namespace mqcalib
