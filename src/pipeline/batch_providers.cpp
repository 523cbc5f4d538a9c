// mqcalib/src/pipeline/batch_providers.cpp: see batch_providers.h.
#include "pipeline/batch_providers.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace mqcalib {

void MemoryBatches::add(TensorF32 batch) {
  if (batch.rank() < 2 || batch.dim(0) < 1)
    throw Error(ErrorKind::BadData, "calibration batch " + std::to_string(batches_.size()) + ": shape " +
                                        shape_to_string(batch.shape()) + ", expected [n >= 1, C, H, W]");
  if (!batches_.empty()) {
    const Shape first = sample_shape(), here(batch.shape().begin() + 1, batch.shape().end());
    if (here != first)
      throw Error(ErrorKind::BadData, "calibration batch " + std::to_string(batches_.size()) + ": samples of shape " +
                                          shape_to_string(here) + ", but the first batch's are " +
                                          shape_to_string(first));
  }
  samples_ += batch.dim(0);
  batches_.push_back(std::move(batch));
}

Shape MemoryBatches::sample_shape() const {
  if (batches_.empty()) return {};
  return Shape(batches_[0].shape().begin() + 1, batches_[0].shape().end());
}

bool MemoryBatches::next(int64_t max_samples, TensorF32& x) {
  if (batch_ >= batches_.size() || max_samples <= 0) return false;
  const int64_t per = numel(sample_shape());
  std::vector<float> out;
  int64_t n = 0;
  while (n < max_samples && batch_ < batches_.size()) {
    const TensorF32& b = batches_[batch_];
    const int64_t take = std::min(max_samples - n, b.dim(0) - offset_);
    out.insert(out.end(), b.data() + offset_ * per, b.data() + (offset_ + take) * per);
    n += take;
    offset_ += take;
    if (offset_ == b.dim(0)) {
      ++batch_;
      offset_ = 0;
    }
  }
  Shape s = batches_[0].shape();
  s[0] = n;
  x = TensorF32(s, std::move(out));
  return true;
}

CallbackBatches::CallbackBatches(Shape sample_shape, NextFn fn) : shape_(std::move(sample_shape)), fn_(std::move(fn)) {
  if (shape_.size() != 3 || shape_[0] < 1 || shape_[1] < 1 || shape_[2] < 1)
    throw Error("calibration callback: sample shape " + shape_to_string(shape_) + ", expected [C, H, W] >= 1");
  if (!fn_) throw Error("calibration callback: no function");
}

bool CallbackBatches::next(int64_t max_samples, TensorF32& x) {
  if (done_ || max_samples <= 0) return false;
  Shape s = shape_;
  s.insert(s.begin(), max_samples);
  TensorF32 buf(s);
  const int64_t n = fn_(buf.data(), max_samples);
  if (n < 0 || n > max_samples)
    throw Error(ErrorKind::BadData, "calibration callback returned " + std::to_string(n) + " samples for room for " +
                                        std::to_string(max_samples));
  if (n == 0) {
    done_ = true;
    return false;
  }
  s[0] = n;
  buf.vec().resize(static_cast<size_t>(n * numel(shape_)));
  x = TensorF32(s, std::move(buf.vec()));
  return true;
}

}  // namespace mqcalib
