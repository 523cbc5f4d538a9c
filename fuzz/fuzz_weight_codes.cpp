// libFuzzer target: the weight-code .npy reader (export/npy_i32.h), with and without an expected shape.
#include "export/npy_i32.h"
#include "export/record_files.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("codes.npy", data, size);
  fuzz::refuse_only_with_error([&] {
    mqcalib::Shape shape;
    (void)mqcalib::read_npy_i32(path, &shape);
  });
  fuzz::refuse_only_with_error([&] {
    (void)mqcalib::read_weight_codes(fuzz::scratch_dir() + "/params.json", "codes.npy", mqcalib::Shape{2, 3}, "w");
  });
  return 0;
}
