// libFuzzer target: image decoding (stb_image: PNG, JPEG, and whatever else stb recognises by
// content) through the image-folder source, with and without resize / center crop.
#include <filesystem>

#include "data/dataset.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_dir() + "/images";
    std::filesystem::create_directories(d);
    return d;
  }();
  fuzz::write_input("images/a.png", data, size);
  mqcalib::Preprocess rgb;
  mqcalib::Preprocess gray;
  gray.color = mqcalib::Preprocess::ColorMode::Grayscale;
  gray.resize = 6;
  gray.center_crop = 5;
  for (const mqcalib::Preprocess& pp : {rgb, gray})
    fuzz::refuse_only_with_error([&] {
      const auto ds = mqcalib::open_dataset(dir, pp);
      (void)mqcalib::load_batch(*ds, {0});
    });
  return 0;
}
