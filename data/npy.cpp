// mqcalib/data/npy.cpp: NumPy .npy arrays as a data source.
//
// Accepted: format 1.0 / 2.0 / 3.0, C order (fortran_order True is an error), dtype float32
// ('<f4') or uint8 ('|u1'), shape [N, C, H, W] or [N, H, W, C] (Preprocess::npy_layout) or
// [N, H, W] (one channel). uint8 data is scaled by 1/255 when Preprocess::scale_to_unit, like
// images; float32 data is taken as it is: it is assumed to be already in the model's input range
// (usually [0, 1], i.e. what torchvision's ToTensor produces), and only --mean/--std are applied.
// The file is not loaded into memory: each sample is read with pread(), so concurrent loads are safe.
// The file's size must be exactly what the header names (checked arithmetic) before any sample is read.
#include <cstring>
#include <memory>

#include "data/dataset.h"
#include "data/io_util.h"

namespace mqcalib {
namespace {

enum class NpyDType { F32, U8 };

class NpyImages final : public Dataset {
 public:
  NpyImages(const std::string& path, const Preprocess& pp) : path_(path), pp_(pp), file_(path, ".npy file") {
    const data_detail::NpyHeader hdr = data_detail::read_npy_header(file_);
    if (hdr.fortran_order)
      fail("fortran_order is True (column-major); save a C-order array (np.ascontiguousarray) instead");
    if (hdr.descr == "<f4") {
      dtype_ = NpyDType::F32;
      item_ = 4;
    } else if (hdr.descr == "|u1" || hdr.descr == "<u1" || hdr.descr == ">u1" || hdr.descr == "=u1") {
      dtype_ = NpyDType::U8;
      item_ = 1;
    } else if (hdr.descr == ">f4") {
      fail("dtype '>f4' is big-endian float32; convert with a.astype('<f4')");
    } else {
      fail("dtype '" + hdr.descr + "' is not supported; expected float32 ('<f4') or uint8 ('|u1')");
    }
    const auto& s = hdr.shape;
    if (s.size() == 3) {
      n_ = s[0], c_ = 1, h_ = s[1], w_ = s[2];
      nhwc_ = false;
    } else if (s.size() == 4) {
      nhwc_ = pp.npy_layout == Preprocess::Layout::NHWC;
      n_ = s[0];
      c_ = nhwc_ ? s[3] : s[1];
      h_ = nhwc_ ? s[1] : s[2];
      w_ = nhwc_ ? s[2] : s[3];
    } else {
      fail("shape " + shape_to_string(s) + " has " + std::to_string(s.size()) +
           " dimensions; expected [N, C, H, W], [N, H, W, C] (with the NHWC layout) or [N, H, W]");
    }
    for (int64_t d : s)
      if (d <= 0) fail("shape " + shape_to_string(s) + " has an empty dimension (no samples)");
    data_offset_ = static_cast<int64_t>(hdr.data_offset);
    const int64_t need = data_detail::npy_payload_end(hdr, item_, path);
    const int64_t have = file_.size();
    if (have < need)
      fail("truncated: " + std::to_string(have) + " bytes, but the header (shape " + shape_to_string(s) + ", dtype '" +
           hdr.descr + "') needs " + std::to_string(need));
    if (have > need)
      fail(std::to_string(have - need) + " unexpected bytes after the data the header (shape " + shape_to_string(s) +
           ", dtype '" + hdr.descr + "') names");
    desc_ = ".npy file '" + path_ + "' (" + (dtype_ == NpyDType::F32 ? "float32" : "uint8") + ", " +
            (nhwc_ ? "NHWC" : "NCHW") + ")";
    validate_preprocess(pp_, c_, description());
    shape_ = preprocessed_shape(c_, h_, w_, pp_, description());
  }

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return shape_; }
  std::string description() const override { return desc_; }

  void load(int64_t index, float* out) const override {
    if (index < 0 || index >= n_)
      throw Error(description() + ": sample index " + std::to_string(index) + " out of range [0, " +
                  std::to_string(n_) + ")");
    const int64_t per = c_ * h_ * w_;
    std::vector<uint8_t> bytes(static_cast<size_t>(per * item_));
    file_.read_exact(bytes.data(), bytes.size(), data_offset_ + index * per * item_);
    std::vector<float> raw(static_cast<size_t>(per));
    const int64_t hw = h_ * w_;
    for (int64_t i = 0; i < per; ++i) {
      float v;
      if (dtype_ == NpyDType::F32)
        std::memcpy(&v, bytes.data() + i * 4, 4);  // little-endian host (x86-64, aarch64)
      else
        v = static_cast<float>(bytes[static_cast<size_t>(i)]);
      // Source element i: NCHW -> (c, y, x) = (i / hw, ...); NHWC -> pixel i / c_, channel i % c_.
      const int64_t dst = nhwc_ ? (i % c_) * hw + i / c_ : i;
      raw[static_cast<size_t>(dst)] = v;
    }
    finish_sample(raw, c_, h_, w_, dtype_ == NpyDType::U8, pp_, desc_, out);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(".npy file '" + path_ + "': " + what); }

  std::string path_;
  std::string desc_;
  Preprocess pp_;
  NpyDType dtype_ = NpyDType::F32;
  int64_t item_ = 4;
  bool nhwc_ = false;
  int64_t n_ = 0, c_ = 0, h_ = 0, w_ = 0;
  int64_t data_offset_ = 0;
  Shape shape_;
  InputFile file_;
};

}  // namespace

std::unique_ptr<Dataset> open_npy(const std::string& path, const Preprocess& pp) {
  return std::make_unique<NpyImages>(path, pp);
}

}  // namespace mqcalib
