// libFuzzer target: gzip IDX images and labels. An input that starts with the gzip magic is the
// .gz file itself (mutated deflate streams); any other input is gzip-compressed first, so valid
// streams carrying mutated IDX headers (claims larger or smaller than the payload) are covered too.
#include <zlib.h>

#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

namespace {
std::string gz_file(const std::string& name, const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return fuzz::write_input(name, data, size);
  const std::string path = fuzz::scratch_dir() + "/" + name;
  gzFile f = gzopen(path.c_str(), "wb1");
  if (!f) std::abort();
  if (size > 0 && gzwrite(f, data, static_cast<unsigned>(size)) != static_cast<int>(size)) std::abort();
  gzclose(f);
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string images = gz_file("images-idx3-ubyte.gz", data, size);
  fuzz::refuse_only_with_error([&] {
    const auto ds = mqcalib::open_dataset(images, mqcalib::Preprocess{});
    (void)mqcalib::load_batch(*ds, {0, ds->size() - 1});
  });
  fuzz::refuse_only_with_error([&] { (void)mqcalib::load_labels(images); });
  return 0;
}
