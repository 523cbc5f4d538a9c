// Export golden-file tests: hand-built QuantRecords (export_records.h) are written by the exporters
// into a temporary directory and compared with files written by hand from REFERENCE.md section 7
// (tests/export/golden/, derivations in export_records.h and golden/README.md): byte for byte for
// the text formats, JSON-equal for the .json files.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "export/exporters.h"
#include "export/format_util.h"
#include "export_records.h"
#include "export_test_util.h"

using namespace mqcalib;
using namespace mqcalib::export_test;

namespace {

void check_bytes_equal(const std::string& written_path, const std::string& golden_name) {
  INFO("written: " << written_path << ", golden: " << golden_path(golden_name));
  CHECK(read_text(written_path) == read_text(golden_path(golden_name)));
}

// JSON-equal: same structure and values (numbers compared as parsed doubles), and the same key order
// (the exporters keep record order, which the golden files spell out).
void check_json_equal(const std::string& written_path, const std::string& golden_name) {
  INFO("written: " << written_path << ", golden: " << golden_path(golden_name));
  const auto written = nlohmann::ordered_json::parse(read_text(written_path));
  const auto golden = nlohmann::ordered_json::parse(read_text(golden_path(golden_name)));
  CHECK(written == golden);
  CHECK(written.dump() == golden.dump());
}

}  // namespace

TEST_CASE("golden: float32 bit patterns used in the golden files, derived by hand") {
  // The hand derivations of export_records.h, checked against the bits of the float literals.
  CHECK(float_bits_hex(0.0078125f) == "3c000000");  // 2^-7: exponent 120 = 0x78 -> 0x78 << 23
  CHECK(float_bits_hex(0.5f) == "3f000000");        // 2^-1: exponent 126 = 0x7e
  CHECK(float_bits_hex(0.1f) == "3dcccccd");        // 1.6 * 2^-4, mantissa 0.6 * 2^23 = 5033164.8 -> 0x4ccccd
  CHECK(float_bits_hex(1.0f) == "3f800000");
  CHECK(float_bits_hex(-2.0f) == "c0000000");  // sign bit, exponent 128 = 0x80 -> 0x80 << 23 | 1 << 31
}

TEST_CASE("golden: TensorRT calib.cache and clip_ranges.json") {
  TempDir dir;
  const QuantRecord rec = tensorrt_record();
  write_tensorrt_cache(rec, dir.file("calib.cache"));
  write_clip_ranges_json(rec, dir.file("clip_ranges.json"));
  check_bytes_equal(dir.file("calib.cache"), "calib.cache");
  check_json_equal(dir.file("clip_ranges.json"), "clip_ranges.json");

  SUBCASE("through the backend table: tensorrt -> calib.cache, clip_ranges.json") {
    TempDir out;
    const std::vector<std::string> written = write_native_formats(rec, "tensorrt", out.path());
    CHECK(written == std::vector<std::string>{"calib.cache", "clip_ranges.json"});
    check_bytes_equal(out.file("calib.cache"), "calib.cache");
    check_json_equal(out.file("clip_ranges.json"), "clip_ranges.json");
  }
  SUBCASE("header: all-minmax activations -> MinMaxCalibration; explicit version") {
    QuantRecord mm = rec;
    for (TensorQuant& t : mm.tensors) t.observer = "minmax";
    TensorRtCacheOptions o;
    o.version = 10000;  // TensorRT 10.0.0
    const std::string text = tensorrt_cache_text(mm, o);
    CHECK(text.substr(0, text.find('\n')) == "TRT-10000-MinMaxCalibration");
    CHECK(text.substr(text.find('\n') + 1) == "input: 3c000000\nconv1.relu: 3f000000\nfc.out: 3dcccccd\n");
  }
  SUBCASE("a 4-bit weight cannot be expressed (TensorRT runs int8): Error naming the tensor") {
    QuantRecord bad = rec;
    bad.tensors[1].scheme.bits = 4;
    bad.tensors[1].params.qmin = -7;
    bad.tensors[1].params.qmax = 7;
    for (const std::string& msg :
         {error_message([&] { tensorrt_cache_text(bad); }), error_message([&] { clip_ranges_json_text(bad); })}) {
      CHECK(msg.find("conv1.weight") != std::string::npos);
      CHECK(msg.find("4-bit") != std::string::npos);
    }
  }
  SUBCASE("an asymmetric activation cannot be expressed: Error naming the tensor") {
    QuantRecord bad = rec;
    bad.tensors[2].scheme = uint8_asymmetric();
    bad.tensors[2].params.zero_point = {3};
    const std::string msg = error_message([&] { tensorrt_cache_text(bad); });
    CHECK(msg.find("conv1.relu") != std::string::npos);
    // With notes, the format is skipped and the reason recorded; nothing is written for it.
    TempDir out;
    std::vector<std::string> notes;
    CHECK(write_native_formats(bad, "tensorrt", out.path(), &notes).empty());
    CHECK(notes.size() == 2);
    CHECK(!std::filesystem::exists(out.file("calib.cache")));
  }
}

TEST_CASE("golden: SNPE/QNN encodings.json") {
  TempDir dir;
  const QuantRecord rec = snpe_record();
  write_encodings_json(rec, dir.file("encodings.json"));
  check_json_equal(dir.file("encodings.json"), "encodings.json");
  for (const char* backend : {"snpe", "qnn"}) {
    TempDir out;
    CHECK(write_native_formats(rec, backend, out.path()) == std::vector<std::string>{"encodings.json"});
    check_json_equal(out.file("encodings.json"), "encodings.json");
  }
  SUBCASE("a symmetric encoding with an offset other than -128 or 0 is rejected (aimet #2468)") {
    QuantRecord bad = rec;
    bad.tensors[1].params.zero_point = {0, 5};  // offset -133: outside the rule
    const std::string msg = error_message([&] { encodings_json_text(bad); });
    CHECK(msg.find("conv1.weight") != std::string::npos);
    CHECK(msg.find("channel 1") != std::string::npos);
  }
}

TEST_CASE("golden: ncnn table") {
  TempDir dir;
  const QuantRecord rec = ncnn_record();
  write_ncnn_table(rec, dir.file("ncnn.table"));
  check_bytes_equal(dir.file("ncnn.table"), "ncnn.table");
  TempDir out;
  CHECK(write_native_formats(rec, "ncnn", out.path()) == std::vector<std::string>{"ncnn.table"});
  check_bytes_equal(out.file("ncnn.table"), "ncnn.table");

  SUBCASE("a 4-bit weight or mismatched scale/zero-point counts: Error naming the tensor") {
    QuantRecord bad = rec;
    bad.tensors[3].scheme.bits = 4;
    CHECK(error_message([&] { ncnn_table_text(bad); }).find("fc.weight") != std::string::npos);
    bad = rec;
    bad.tensors[1].params.zero_point = {0};
    CHECK(error_message([&] { ncnn_table_text(bad); }).find("conv1.weight") != std::string::npos);
  }
  SUBCASE("a layer whose input has no record: Error naming the layer") {
    QuantRecord bad = rec;
    bad.layer_inputs["fc"] = "missing.blob";
    const std::string msg = error_message([&] { ncnn_table_text(bad); });
    CHECK(msg.find("'fc'") != std::string::npos);
    CHECK(msg.find("missing.blob") != std::string::npos);
  }
}

TEST_CASE("backend -> native formats table") {
  CHECK(native_formats("tensorrt") ==
        std::vector<NativeFormat>{NativeFormat::TensorRtCache, NativeFormat::ClipRangesJson});
  CHECK(native_formats("snpe") == std::vector<NativeFormat>{NativeFormat::EncodingsJson});
  CHECK(native_formats("qnn") == std::vector<NativeFormat>{NativeFormat::EncodingsJson});
  CHECK(native_formats("ncnn") == std::vector<NativeFormat>{NativeFormat::NcnnTable});
  CHECK(native_formats("fbgemm").empty());
  CHECK(file_name(NativeFormat::TensorRtCache) == "calib.cache");
  CHECK(file_name(NativeFormat::ClipRangesJson) == "clip_ranges.json");
  CHECK(file_name(NativeFormat::EncodingsJson) == "encodings.json");
  CHECK(file_name(NativeFormat::NcnnTable) == "ncnn.table");
}
