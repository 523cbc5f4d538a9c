// libFuzzer target: label files without a suffix (IDX or text by content).
#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("labels", data, size);
  fuzz::refuse_only_with_error([&] { (void)mqcalib::load_labels(path); });
  return 0;
}
