// mqcalib/src/deploy/verify_report.cpp: see verify_report.h.
#include "deploy/verify_report.h"

#include <filesystem>
#include <fstream>

#include "export/atomic_file.h"
#include "export/report_json.h"

namespace mqcalib {

nlohmann::json verify_json(const VerifyResult& r) {
  nlohmann::json t = nlohmann::json::array();
  for (const TensorAgreement& a : r.tensors)
    t.push_back({{"tensor", a.tensor}, {"origin", a.origin}, {"elements", a.elements}, {"max_lsb", a.max_lsb},
                 {"frac_differ", a.frac_differ}});
  return {{"backend", r.backend},
          {"requant", r.requant},
          {"samples", r.samples},
          {"sim_top1", r.sim_top1},
          {"int_top1", r.int_top1},
          {"top1_agreement", r.top1_agreement},
          {"first_parting", r.first_parting},
          {"first_over_one_lsb", r.first_over_one_lsb},
          {"float_ops", r.float_ops},
          {"float_output_convs", r.float_output_convs},
          {"tensors", t}};
}

void merge_verify_into_report(const VerifyResult& r, const std::string& path) {
  nlohmann::json rep = nlohmann::json::object();
  if (std::filesystem::exists(path)) {
    std::ifstream f(path);
    try {
      rep = nlohmann::json::parse(f);
    } catch (const std::exception& e) {
      throw Error("report '" + path + "': not valid JSON (" + e.what() + ")");
    }
    if (!rep.is_object()) throw Error("report '" + path + "': not a JSON object");
  }
  rep["verify"] = verify_json(r);
  write_file_atomic(path, report_json_text(rep));
}

// Header: "\x93NUMPY" 1 0, uint16 header length, the dict padded so that the data starts at 64 bytes.
void write_npy_f32(const std::string& path, const Shape& shape, const float* data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  dict += "), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  bytes.append(reinterpret_cast<const char*>(data), sizeof(float) * static_cast<size_t>(numel(shape)));
  write_file_atomic(path, bytes);
}

}  // namespace mqcalib
