// Files named inside a record (params.json's weight_codes) stay inside the record's folder and are
// sized against their header before the payload is read (issue 14); the model hash refuses FIFOs.
#include <doctest/doctest.h>

#include <filesystem>

#include "export/export_records.h"
#include "export/npy_i32.h"
#include "export/params_json.h"
#include "export/record_files.h"
#include "export/sha256.h"
#include "reliability/reliability_util.h"

using namespace mqcalib;
using namespace data_test;

namespace {
// A '<i4' .npy of the given shape with `payload_bytes` bytes after the header.
std::vector<uint8_t> fake_npy_i32(const std::vector<int64_t>& shape, size_t payload_bytes) {
  return npy_bytes("<i4", shape, std::vector<uint8_t>(payload_bytes, 0));
}
}  // namespace

TEST_CASE("resolve_inside_folder: absolute, '..', symlink escapes and the folder itself are refused") {
  TempDir outside;
  TempDir rec;
  std::filesystem::create_directories(rec.file("weights"));
  write_text(rec.file("weights/a.npy"), "x");
  write_text(outside.file("secret.npy"), "x");
  const std::string canon_a = std::filesystem::canonical(rec.file("weights/a.npy")).string();
  CHECK(resolve_inside_folder(rec.path, "weights/a.npy", "weight codes") == canon_a);
  CHECK(resolve_inside_folder(rec.path, "./weights/./a.npy", "weight codes") == canon_a);
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "/dev/zero", "weight codes of conv1.weight"), "conv1.weight",
                       "/dev/zero", "absolute");
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "../x.npy", "weight codes"), "'..'");
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "weights/../../x.npy", "weight codes"), "'..'");
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "", "weight codes"), "empty");
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "weights/none.npy", "weight codes"), "none.npy",
                       "does not exist");
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, ".", "weight codes"), "folder itself");
  // A symlink leaving the folder, directly or through a linked directory; one staying inside is fine.
  reliability_test::make_symlink(outside.file("secret.npy"), rec.file("weights/out.npy"));
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "weights/out.npy", "weight codes"), "outside");
  reliability_test::make_symlink(outside.path, rec.file("linkdir"));
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "linkdir/secret.npy", "weight codes"), "outside");
  reliability_test::make_symlink("/dev/zero", rec.file("weights/zero.npy"));
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "weights/zero.npy", "weight codes"), "outside");
  reliability_test::make_symlink("a.npy", rec.file("weights/alias.npy"));
  CHECK(resolve_inside_folder(rec.path, "weights/alias.npy", "weight codes") == canon_a);
  // A folder whose name is a prefix of the target's folder is not its parent ("/x/rec" vs "/x/rec2").
  std::filesystem::create_directories(rec.path + "2");
  write_text(rec.path + "2/b.npy", "x");
  const std::string base = std::filesystem::path(rec.path).filename().string();
  reliability_test::make_symlink("../../" + base + "2/b.npy", rec.file("weights/prefix.npy"));
  CHECK_ERROR_MENTIONS(resolve_inside_folder(rec.path, "weights/prefix.npy", "weight codes"), "outside");
  std::filesystem::remove_all(rec.path + "2");
}

namespace {
// params.json naming `file` as the weight codes of conv1.weight (the export tests' TensorRT record).
void write_params(const std::string& path, const std::string& file) {
  mqcalib::QuantRecord rec = mqcalib::export_test::tensorrt_record();
  rec.weight_codes["conv1.weight"].file = file;
  write_text(path, mqcalib::params_json_text(rec));
}
}  // namespace

TEST_CASE("load_record: weight codes inside the folder, sized against their header, FIFOs refused") {
  TempDir rec;
  const std::string params = rec.file("params.json");
  std::filesystem::create_directories(rec.file("weights"));
  const std::vector<int32_t> codes = {1, -2, 3, -4, 5, -6};
  write_npy_i32(rec.file("weights/ok.npy"), Shape{2, 3}, codes.data());
  write_params(params, "weights/ok.npy");
  const mqcalib::QuantRecord back = load_record(params);
  CHECK(back.weight_codes.at("conv1.weight").codes == codes);
  CHECK(back.weight_codes.at("conv1.weight").shape == Shape{2, 3});
  // A header naming 10^9 x 10^9 codes in a 128-byte file: sized, never allocated.
  write_bytes(rec.file("weights/big.npy"), fake_npy_i32({1000000000, 1000000000}, 0));
  write_params(params, "weights/big.npy");
  CHECK_ERROR_MENTIONS(load_record(params), "big.npy", "payload has 0 bytes");
  write_bytes(rec.file("weights/long.npy"), fake_npy_i32({2, 3}, 28));
  write_params(params, "weights/long.npy");
  CHECK_ERROR_MENTIONS(load_record(params), "long.npy", "payload has 28 bytes", "needs 24");
  reliability_test::make_fifo(rec.file("weights/pipe.npy"));
  write_params(params, "weights/pipe.npy");
  CHECK_ERROR_MENTIONS(load_record(params), "pipe.npy", "FIFO");
  write_params(params, "/dev/zero");
  CHECK_ERROR_MENTIONS(load_record(params), "params.json", "conv1.weight", "/dev/zero", "absolute");
  write_params(params, "../../../../../../dev/zero");
  CHECK_ERROR_MENTIONS(load_record(params), "conv1.weight", "'..'");
  reliability_test::make_symlink("/dev/zero", rec.file("weights/zero.npy"));
  write_params(params, "weights/zero.npy");
  CHECK_ERROR_MENTIONS(load_record(params), "zero.npy", "outside");
  // params.json itself: a FIFO, a device, a directory.
  reliability_test::make_fifo(rec.file("fifo.json"));
  CHECK_ERROR_MENTIONS(load_record(rec.file("fifo.json")), "params file", "fifo.json", "FIFO");
  CHECK_ERROR_MENTIONS(load_record("/dev/zero"), "params file", "character device");
  CHECK_ERROR_MENTIONS(load_record(rec.path), "params file", "directory");
}

TEST_CASE("read_npy_i32: shape checked before the payload, size arithmetic checked") {
  TempDir rec;
  const std::vector<int32_t> codes = {1, -2, 3, -4, 5, -6};
  write_npy_i32(rec.file("ok.npy"), Shape{2, 3}, codes.data());
  const Shape want{3, 2};
  CHECK_ERROR_MENTIONS(read_npy_i32(rec.file("ok.npy"), nullptr, &want), "ok.npy", "[2, 3]", "expected [3, 2]");
  write_bytes(rec.file("ovf.npy"), fake_npy_i32({INT64_C(1099511627776), INT64_C(1099511627776)}, 0));
  CHECK_ERROR_MENTIONS(read_npy_i32(rec.file("ovf.npy"), nullptr), "ovf.npy", "overflows");
}

TEST_CASE("sha256_of_file refuses a FIFO and a device instead of reading forever") {
  TempDir tmp;
  reliability_test::make_fifo(tmp.file("model.pt"));
  CHECK_ERROR_MENTIONS(sha256_of_file(tmp.file("model.pt")), "model.pt", "FIFO");
  CHECK_ERROR_MENTIONS(sha256_of_file("/dev/zero"), "/dev/zero", "character device");
  // FIPS 180-4 example "abc".
  write_text(tmp.file("abc"), "abc");
  CHECK(sha256_of_file(tmp.file("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
