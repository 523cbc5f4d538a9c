// libFuzzer target: .npy data (NCHW and NHWC, float32 / uint8) and .npy labels.
#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("data.npy", data, size);
  for (const auto layout : {mqcalib::Preprocess::Layout::NCHW, mqcalib::Preprocess::Layout::NHWC}) {
    mqcalib::Preprocess pp;
    pp.npy_layout = layout;
    fuzz::refuse_only_with_error([&] {
      const auto ds = mqcalib::open_dataset(path, pp);
      (void)mqcalib::load_batch(*ds, {0, ds->size() - 1});
    });
  }
  fuzz::refuse_only_with_error([&] { (void)mqcalib::load_labels(path); });
  return 0;
}
