// mqcalib/src/pipeline/sample_store.cpp: see sample_store.h.
#include "pipeline/sample_store.h"

#include <algorithm>

#include "core/error.h"
#include "core/stats.h"
#include "export/sha256.h"

namespace mqcalib {

namespace {

constexpr ValueId kSamples = 0;  // the store's one cached "value"

// Index of the first non-finite sample of a batch, or -1.
int64_t first_non_finite(const TensorF32& x) {
  const int64_t n = x.dim(0), per = n > 0 ? x.size() / n : 0;
  if (scan_f32_parallel(x.data(), x.size()).finite) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (!scan_f32(x.data() + i * per, per).finite) return i;
  return -1;
}

}  // namespace

DatasetBatches::DatasetBatches(const Dataset& ds, std::vector<int64_t> indices)
    : ds_(ds), indices_(std::move(indices)) {}

bool DatasetBatches::next(int64_t max_samples, TensorF32& x) {
  if (pos_ >= indices_.size() || max_samples <= 0) return false;
  const size_t e = std::min(indices_.size(), pos_ + static_cast<size_t>(max_samples));
  x = load_batch(ds_, std::vector<int64_t>(indices_.begin() + static_cast<int64_t>(pos_),
                                           indices_.begin() + static_cast<int64_t>(e)));
  pos_ = e;
  return true;
}

SampleStore SampleStore::load(BatchProvider& provider, const SampleStoreOptions& options, const ProgressFn& progress) {
  if (options.batch <= 0) throw Error("sample store: the batch size must be positive");
  SampleStore s;
  s.batch_ = options.batch;
  s.description_ = provider.description();
  s.sample_shape_ = provider.sample_shape();
  s.cache_ = std::make_unique<ActivationCache>(std::vector<ValueId>{kSamples}, options.cache);
  Sha256 hash;
  const int64_t total = provider.size();
  TensorF32 x;
  while (provider.next(options.batch, x)) {
    const Shape per(x.shape().begin() + (x.rank() > 0 ? 1 : 0), x.shape().end());
    if (x.rank() < 1 || per != s.sample_shape_)
      throw Error(ErrorKind::BadData, "calibration data " + s.description_ + ": a batch of shape " +
                                          shape_to_string(x.shape()) + ", expected [N, " +
                                          shape_to_string(s.sample_shape_).substr(1));
    if (x.dim(0) == 0) continue;
    const int64_t bad = first_non_finite(x);
    if (bad >= 0)
      throw Error(ErrorKind::BadData, "calibration data " + s.description_ + ": sample " +
                                          std::to_string(s.size_ + bad) + " holds NaN or Inf");
    hash.update(x.data(), static_cast<size_t>(x.size()) * sizeof(float));
    s.cache_->append(kSamples, x.view());
    s.size_ += x.dim(0);
    if (progress) progress("read calibration data", s.size_, total);
  }
  if (s.size_ == 0) throw Error(ErrorKind::BadData, "calibration data " + s.description_ + ": no sample");
  s.sha256_ = hash.hex();
  return s;
}

TensorF32 SampleStore::read(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > size_)
    throw Error("sample store: samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") of " +
                std::to_string(size_));
  return cache_->read(kSamples, begin, count);
}

BatchSource SampleStore::first(int64_t count, int64_t batch) const {
  const int64_t n = std::min(count, size_);
  return [this, n, batch](int64_t i, TensorF32& x) {
    const int64_t b = i * batch;
    if (i < 0 || b >= n) return false;
    x = read(b, std::min(batch, n - b));
    return true;
  };
}

BatchSource SampleStore::batches(int64_t batch) const { return first(size_, batch); }

}  // namespace mqcalib
