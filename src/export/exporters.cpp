// mqcalib/src/export/exporters.cpp: backend -> native formats, as data.
#include "export/exporters.h"

#include <utility>

#include "core/error.h"

namespace mqcalib {

namespace {

struct BackendFormats {
  const char* backend;
  std::vector<NativeFormat> formats;
};

// Which runtime files each backend consumes (REFERENCE.md section 7).
const std::vector<BackendFormats>& native_format_table() {
  static const std::vector<BackendFormats> kNativeFormats = {
      {"tensorrt", {NativeFormat::TensorRtCache, NativeFormat::ClipRangesJson}},
      {"snpe", {NativeFormat::EncodingsJson}},
      {"qnn", {NativeFormat::EncodingsJson}},
      {"ncnn", {NativeFormat::NcnnTable}},
  };
  return kNativeFormats;
}

std::string render(NativeFormat f, const QuantRecord& rec, const NativeFormatOptions& o) {
  switch (f) {
    case NativeFormat::TensorRtCache: {
      TensorRtCacheOptions t;
      t.version = o.trt_version;
      return tensorrt_cache_text(rec, t);
    }
    case NativeFormat::ClipRangesJson:
      return clip_ranges_json_text(rec);
    case NativeFormat::EncodingsJson:
      return encodings_json_text(rec);
    case NativeFormat::NcnnTable:
      return ncnn_table_text(rec);
  }
  throw Error("unknown native format");
}

}  // namespace

std::string_view file_name(NativeFormat f) {
  switch (f) {
    case NativeFormat::TensorRtCache:
      return "calib.cache";
    case NativeFormat::ClipRangesJson:
      return "clip_ranges.json";
    case NativeFormat::EncodingsJson:
      return "encodings.json";
    case NativeFormat::NcnnTable:
      return "ncnn.table";
  }
  return "?";
}

std::vector<NativeFormat> native_formats(std::string_view backend) {
  for (const BackendFormats& b : native_format_table())
    if (backend == b.backend) return b.formats;
  return {};
}

std::vector<std::pair<std::string, std::string>> render_native_formats(const QuantRecord& rec, std::string_view backend,
                                                                       std::vector<std::string>* notes,
                                                                       const NativeFormatOptions& options) {
  std::vector<std::pair<std::string, std::string>> files;  // name, bytes
  for (NativeFormat f : native_formats(backend)) {
    try {
      files.emplace_back(std::string(file_name(f)), render(f, rec, options));
    } catch (const Error& e) {
      if (!notes) throw;
      notes->push_back(std::string(file_name(f)) + " not written: " + e.what());
    }
  }
  return files;
}

std::string deployment_weights_note(const QuantRecord& rec, const std::vector<std::string>& native_files) {
  if (rec.float_weights.empty() && rec.op_changes.empty()) return "";
  std::string causes;
  const Provenance& p = rec.provenance;
  auto add = [&causes](const std::string& c) { causes += (causes.empty() ? "" : ", ") + c; };
  if (!p.equalization.empty()) add("cross-layer equalization");
  if (p.high_bias_sigmas > 0 && !p.equalization.empty()) add("high-bias absorption");
  if (p.bias_correction != "none") add(p.bias_correction + " bias correction");
  if (!rec.weight_codes.empty()) add(p.weight_rounding + " rounding");
  std::string note = std::to_string(rec.float_weights.size()) + " folded FP weights/biases changed by " +
                     (causes.empty() ? std::string("the run") : causes) +
                     " are in folded/*.npy (params.json float_weights)";
  if (!rec.op_changes.empty())
    note += "; " + std::to_string(rec.op_changes.size()) + " nodes run another op (params.json op_changes, e.g. " +
            rec.op_changes.begin()->first + " as " + rec.op_changes.begin()->second + ")";
  std::string files;
  for (const std::string& f : native_files) files += (files.empty() ? "" : ", ") + f;
  note += files.empty() ? ": deploy a model built with them (the model file's own weights give another network)"
                        : ": " + files + " carry no weights and are valid only for a model built with them " +
                              "(the model file's own weights give another network)";
  return note;
}

std::vector<std::string> write_native_formats(const QuantRecord& rec, std::string_view backend, const std::string& dir,
                                              std::vector<std::string>* notes) {
  const std::vector<std::pair<std::string, std::string>> files = render_native_formats(rec, backend, notes);
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  std::vector<std::string> written;
  for (const auto& f : files) {
    write_file_atomic(prefix + f.first, f.second);
    written.push_back(f.first);
  }
  return written;
}

}  // namespace mqcalib
