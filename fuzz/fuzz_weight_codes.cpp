// libFuzzer target: the weight-code .npy reader (export/npy_i32.h), with and without an expected shape.
#include "export/npy_i32.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("codes.npy", data, size);
  fuzz::refuse_only_with_error([&] {
    mqcalib::Shape shape;
    (void)mqcalib::read_npy_i32(path, &shape);
  });
  fuzz::refuse_only_with_error([&] {
    const mqcalib::Shape want{2, 3};
    (void)mqcalib::read_npy_i32(path, nullptr, &want);
  });
  return 0;
}
