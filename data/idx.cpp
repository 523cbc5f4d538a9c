// mqcalib/data/idx.cpp: IDX image files (LeCun's MNIST format; Fashion-MNIST ships it gzipped).
//
// Layout: big-endian magic 0x00000803 (0x08 = unsigned byte elements, 3 dimensions), then the
// dimensions N, H, W as big-endian uint32, then N*H*W bytes. The file (plain or .gz) is read into
// memory once; samples are [1, H, W], uint8 scaled per Preprocess (x / 255 by default).
#include <memory>

#include "data/dataset.h"
#include "data/io_util.h"

namespace mqcalib {
namespace {

class IdxImages final : public Dataset {
 public:
  IdxImages(const std::string& path, const Preprocess& pp) : path_(path), pp_(pp) {
    data_ = data_detail::read_idx_u8(path, 3, "images");
    n_ = data_.dims[0];
    h_ = data_.dims[1];
    w_ = data_.dims[2];
    desc_ = "IDX images '" + path_ + "'";
    validate_preprocess(pp_, 1, description());
    shape_ = preprocessed_shape(1, h_, w_, pp_, description());
  }

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return shape_; }
  std::string description() const override { return desc_; }

  void load(int64_t index, float* out) const override {
    if (index < 0 || index >= n_)
      throw Error(description() + ": sample index " + std::to_string(index) + " out of range [0, " +
                  std::to_string(n_) + ")");
    const uint8_t* src = data_.bytes.data() + data_.data_offset + static_cast<size_t>(index * h_ * w_);
    std::vector<float> raw(static_cast<size_t>(h_ * w_));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<float>(src[i]);
    finish_sample(raw, 1, h_, w_, /*from_uint8=*/true, pp_, desc_, out);
  }

 private:
  std::string path_;
  std::string desc_;
  Preprocess pp_;
  data_detail::IdxData data_;
  int64_t n_ = 0, h_ = 0, w_ = 0;
  Shape shape_;
};

}  // namespace

std::unique_ptr<Dataset> open_idx_images(const std::string& path, const Preprocess& pp) {
  return std::make_unique<IdxImages>(path, pp);
}

}  // namespace mqcalib
