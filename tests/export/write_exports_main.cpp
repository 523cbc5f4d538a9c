// export_writer <dir>: writes the exports of the hand-built records (export_records.h) into <dir> for
// the independent Python parser (parse_exports.py):
//   tensorrt.params.json calib.cache clip_ranges.json   (tensorrt_record)
//   snpe.params.json encodings.json                     (snpe_record)
//   ncnn.params.json ncnn.table                         (ncnn_record)
#include <cstdio>

#include "core/error.h"
#include "export/exporters.h"
#include "export_records.h"

int main(int argc, char** argv) {
  using namespace mqcalib;
  using namespace mqcalib::export_test;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <existing output dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const std::pair<const char*, QuantRecord> records[] = {
        {"tensorrt", tensorrt_record()}, {"snpe", snpe_record()}, {"ncnn", ncnn_record()}};
    for (const auto& [backend, rec] : records) {
      write_params_json(rec, dir + "/" + backend + ".params.json");
      write_native_formats(rec, backend, dir);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "export_writer: %s\n", e.what());
    return 1;
  }
  return 0;
}
