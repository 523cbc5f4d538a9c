// libFuzzer target: IDX images and labels, plain (the input is the file).
#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string images = fuzz::write_input("images-idx3-ubyte", data, size);
  fuzz::refuse_only_with_error([&] {
    const auto ds = mqcalib::open_dataset(images, mqcalib::Preprocess{});
    (void)mqcalib::load_batch(*ds, {0, ds->size() - 1});
  });
  const std::string labels = fuzz::write_input("labels-idx1-ubyte", data, size);
  fuzz::refuse_only_with_error([&] { (void)mqcalib::load_labels(labels); });
  return 0;
}
