// mqcalib/src/export/encodings.cpp (format and conventions: encodings.h)
#include "export/encodings.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "export/atomic_file.h"
#include "export/format_util.h"

namespace mqcalib {

namespace {

nlohmann::ordered_json encoding_list(const TensorQuant& t) {
  const QScheme& s = t.scheme;
  const QParams& p = t.params;
  const std::string who = "encodings.json: " + describe_tensor(t);
  if (p.scale.empty() || p.scale.size() != p.zero_point.size())
    throw Error(who + ": " + std::to_string(p.scale.size()) + " scales and " + std::to_string(p.zero_point.size()) +
                " zero points");
  const int bitwidth = s.reduce_range ? s.bits - 1 : s.bits;
  if (bitwidth < 2 || bitwidth > 16) throw Error(who + ": bitwidth " + std::to_string(bitwidth) + " is outside 2..16");
  const int64_t levels_minus_one = (int64_t{1} << bitwidth) - 1;
  const int64_t storage_min = s.signedness == Signedness::Signed ? -(int64_t{1} << (bitwidth - 1)) : 0;
  const bool symmetric = s.symmetry == Symmetry::Symmetric;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (size_t c = 0; c < p.scale.size(); ++c) {
    const std::string at = p.scale.size() > 1 ? " channel " + std::to_string(c) : "";
    const float scale = p.scale[c];
    if (!(std::isfinite(scale) && scale > 0))
      throw Error(who + at + ": scale " + std::to_string(scale) + " is not finite and positive");
    const int64_t offset = storage_min - int64_t{p.zero_point[c]};
    if (offset > 0 || offset < -levels_minus_one)
      throw Error(who + at + ": zero point " + std::to_string(p.zero_point[c]) + " is outside the " +
                  std::to_string(bitwidth) + "-bit grid (offset " + std::to_string(offset) + ")");
    if (symmetric && offset != 0 && offset != -(int64_t{1} << (bitwidth - 1)))
      throw Error(who + at + ": symmetric encoding with offset " + std::to_string(offset) + "; SNPE accepts only " +
                  std::to_string(-(int64_t{1} << (bitwidth - 1))) + " or 0 (aimet #2468)");
    nlohmann::ordered_json e;
    e["bitwidth"] = bitwidth;
    e["dtype"] = "int";
    e["is_symmetric"] = symmetric ? "True" : "False";  // strings, as AIMET writes them
    e["max"] = static_cast<double>(scale) * static_cast<double>(levels_minus_one + offset);
    e["min"] = static_cast<double>(scale) * static_cast<double>(offset);
    e["offset"] = offset;
    e["scale"] = static_cast<double>(scale);
    list.push_back(e);
  }
  return list;
}

}  // namespace

std::string encodings_json_text(const QuantRecord& rec) {
  nlohmann::ordered_json acts = nlohmann::ordered_json::object();
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  for (const TensorQuant& t : rec.tensors) {
    if (t.role == TensorRole::Bias) continue;
    nlohmann::ordered_json& section = t.role == TensorRole::Weight ? params : acts;
    if (section.contains(t.tensor)) throw Error("encodings.json: " + describe_tensor(t) + " appears twice");
    section[t.tensor] = encoding_list(t);
  }
  nlohmann::ordered_json root;
  root["activation_encodings"] = acts;
  root["param_encodings"] = params;
  return root.dump(2) + "\n";
}

void write_encodings_json(const QuantRecord& rec, const std::string& path) {
  write_file_atomic(path, encodings_json_text(rec));
}

}  // namespace mqcalib
