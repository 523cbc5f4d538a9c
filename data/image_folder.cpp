// mqcalib/data/image_folder.cpp: a directory of PNG / JPEG images as a data source.
//
// Files ending in .png, .jpg or .jpeg (any case) directly in the directory, sorted by file name
// (byte order); other files and subdirectories are ignored. Decoded with stb_image (Debian libstb),
// converted per Preprocess::color:
//   Grayscale: gray images as stored; colour images 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2
//              luma, the formula of PIL's convert('L'), which torchvision's Grayscale uses; kept in
//              float here, PIL rounds to uint8);
//   RGB / BGR: colour channels in that order; gray images replicated to 3 channels.
// Alpha is dropped (as PIL's convert('RGB')). Then resize / center crop / scale / normalize as
// every source (data/dataset.h). All images must give the same shape after preprocessing (use
// --resize and --center-crop for folders of mixed sizes); this is checked from the image headers
// when the folder is opened, so a bad file is reported before calibration starts. Bounds: a file
// is read whole only up to kMaxImageFileBytes and decoded only when its header names at most
// kMaxImagePixels pixels (checked on the very bytes decoded), so no header makes stb allocate more.
#include <stb_image.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "data/dataset.h"
#include "data/image_bounds.h"
#include "data/io_util.h"

namespace mqcalib {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxImageFileBytes = int64_t{1} << 28;  // 256 MiB
constexpr int64_t kMaxImagePixels = int64_t{1} << 25;     // 33.5 Mpixel: 8K UHD (7680 x 4320) fits

std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown reason";
}

// Width and height from the image's header (opened through InputFile: no FIFO, no device).
void image_header(const std::string& file, int* w, int* h) {
  InputFile f(file, "image");
  const std::vector<uint8_t> head = f.read_prefix(8);
  (void)data_detail::image_kind(head.data(), head.size(), file);
  std::FILE* fp = ::fdopen(f.release(), "rb");
  if (!fp) throw Error("image '" + file + "': cannot open");
  int comp = 0;
  const int ok = stbi_info_from_file(fp, w, h, &comp);
  std::fclose(fp);
  if (!ok) throw Error("image '" + file + "': cannot decode (" + stb_reason() + ")");
}

void check_pixels(const std::string& file, int w, int h) {
  if (static_cast<int64_t>(w) * h > kMaxImagePixels)
    throw Error("image '" + file + "': " + std::to_string(w) + "x" + std::to_string(h) + " is more than the " +
                std::to_string(kMaxImagePixels) + " pixels accepted");
}

bool is_image_name(const std::string& name) {
  using data_detail::ends_with_ci;
  return ends_with_ci(name, ".png") || ends_with_ci(name, ".jpg") || ends_with_ci(name, ".jpeg");
}

class ImageFolder final : public Dataset {
 public:
  ImageFolder(const std::string& dir, const Preprocess& pp) : dir_(dir), pp_(pp) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw Error("image folder '" + dir + "': cannot list: " + ec.message());
    for (const fs::directory_entry& e : it) {
      const std::string name = e.path().filename().string();
      if (!is_image_name(name)) continue;
      std::error_code ec2;
      if (!e.is_regular_file(ec2)) continue;
      files_.push_back(e.path().string());
    }
    if (files_.empty()) throw Error("image folder '" + dir + "': empty, no .png / .jpg / .jpeg files in it");
    std::sort(files_.begin(), files_.end());
    c_ = pp.color == Preprocess::ColorMode::Grayscale ? 1 : 3;
    validate_preprocess(pp_, c_, description());
    // Check every header now: undecodable files and size mismatches fail before any work starts.
    for (size_t i = 0; i < files_.size(); ++i) {
      int w = 0, h = 0;
      image_header(files_[i], &w, &h);
      check_pixels(files_[i], w, h);
      const Shape s = preprocessed_shape(c_, h, w, pp_, "image '" + files_[i] + "'");
      if (i == 0) {
        shape_ = s;
      } else if (s != shape_) {
        throw Error("image '" + files_[i] + "': " + std::to_string(h) + "x" + std::to_string(w) + " gives shape " +
                    shape_to_string(s) + " after preprocessing, but '" + files_[0] + "' gives " +
                    shape_to_string(shape_) + "; use --resize and --center-crop for images of different sizes");
      }
    }
  }

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Shape sample_shape() const override { return shape_; }
  std::string description() const override {
    return "image folder '" + dir_ + "' (" + color_mode_name(pp_.color) + ")";
  }
  const std::vector<std::string>& files() const { return files_; }

  void load(int64_t index, float* out) const override {
    if (index < 0 || index >= size())
      throw Error(description() + ": sample index " + std::to_string(index) + " out of range [0, " +
                  std::to_string(size()) + ")");
    const std::string& file = files_[static_cast<size_t>(index)];
    const std::string bytes = read_file_bounded(file, "image", kMaxImageFileBytes);
    const auto* buf = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int len = static_cast<int>(bytes.size());
    const data_detail::ImageKind kind = data_detail::image_kind(buf, bytes.size(), file);
    int w = 0, h = 0, n = 0;
    if (!stbi_info_from_memory(buf, len, &w, &h, &n))
      throw Error("image '" + file + "': cannot decode (" + stb_reason() + ")");
    check_pixels(file, w, h);
    if (kind == data_detail::ImageKind::Png) data_detail::check_png_bounded(bytes, file);
    stbi_uc* px = stbi_load_from_memory(buf, len, &w, &h, &n, 0);
    if (!px) throw Error("image '" + file + "': cannot decode (" + stb_reason() + ")");
    std::unique_ptr<stbi_uc, void (*)(void*)> guard(px, stbi_image_free);
    const int64_t hw = static_cast<int64_t>(h) * w;
    std::vector<float> raw(static_cast<size_t>(c_ * hw));
    for (int64_t i = 0; i < hw; ++i) {
      const stbi_uc* p = px + i * n;
      float r, g, b;
      if (n <= 2) {
        r = g = b = static_cast<float>(p[0]);
      } else {
        r = static_cast<float>(p[0]);
        g = static_cast<float>(p[1]);
        b = static_cast<float>(p[2]);
      }
      switch (pp_.color) {
        case Preprocess::ColorMode::Grayscale:
          raw[static_cast<size_t>(i)] = n <= 2 ? r : 0.299f * r + 0.587f * g + 0.114f * b;
          break;
        case Preprocess::ColorMode::RGB:
          raw[static_cast<size_t>(i)] = r;
          raw[static_cast<size_t>(hw + i)] = g;
          raw[static_cast<size_t>(2 * hw + i)] = b;
          break;
        case Preprocess::ColorMode::BGR:
          raw[static_cast<size_t>(i)] = b;
          raw[static_cast<size_t>(hw + i)] = g;
          raw[static_cast<size_t>(2 * hw + i)] = r;
          break;
      }
    }
    const Shape s = preprocessed_shape(c_, h, w, pp_, "image '" + file + "'");
    if (s != shape_)
      throw Error("image '" + file + "': shape " + shape_to_string(s) + " after preprocessing differs from " +
                  shape_to_string(shape_) + " (file changed since the folder was opened?)");
    finish_sample(raw, c_, h, w, /*from_uint8=*/true, pp_, "image '" + file + "'", out);
  }

 private:
  std::string dir_;
  Preprocess pp_;
  std::vector<std::string> files_;
  int64_t c_ = 3;
  Shape shape_;
};

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const std::string& path, const Preprocess& pp) {
  return std::make_unique<ImageFolder>(path, pp);
}

}  // namespace mqcalib
