// mqcalib/src/pipeline/sample_store.h: the calibration samples of one run, read once.
//
// A BatchProvider hands over calibration samples batch after batch: file datasets (DatasetBatches,
// the samples drawn from an IDX / .npy / image folder source), and later the caller's memory or a
// callback (the C API). SampleStore::load reads a provider exactly once, checks every batch (shape,
// finite values), hashes the preprocessed float32 samples in order on the same pass (provenance
// calib_sha256), and keeps them in an ActivationCache: in RAM up to a budget, spilled to a temporary
// file beyond it. Every stage that needs calibration data (observers, reconstruction caches, the
// report's SQNR pass) reads the store, never the source.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/dataset.h"
#include "exec/activation_cache.h"

namespace mqcalib {

using ProgressFn = std::function<void(const std::string& phase, int64_t done, int64_t total)>;
// (batch index i, x) -> false when there is no batch i. The form every stage reads batches in.
using BatchSource = std::function<bool(int64_t, TensorF32&)>;

class BatchProvider {
 public:
  virtual ~BatchProvider() = default;
  virtual Shape sample_shape() const = 0;  // [C, H, W] (without the batch dim)
  virtual int64_t size() const = 0;        // samples it will give; -1 when unknown (a callback)
  // The next batch of at most max_samples samples, [n, C, H, W]; false when there is none.
  virtual bool next(int64_t max_samples, TensorF32& x) = 0;
  virtual std::string description() const = 0;  // for messages, e.g. "IDX images '/x/train-...gz'"
};

// Samples `indices` of a Dataset (not owned: it must outlive the provider), in the order given.
class DatasetBatches : public BatchProvider {
 public:
  DatasetBatches(const Dataset& ds, std::vector<int64_t> indices);
  Shape sample_shape() const override { return ds_.sample_shape(); }
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  bool next(int64_t max_samples, TensorF32& x) override;
  std::string description() const override { return ds_.description(); }

 private:
  const Dataset& ds_;
  std::vector<int64_t> indices_;
  size_t pos_ = 0;
};

struct SampleStoreOptions {
  int64_t batch = 64;  // samples read from the provider at a time (the stages' batch size)
  CacheOptions cache;  // RAM budget and spill folder
};

class SampleStore {
 public:
  // Reads `provider` to the end (once). Throws Error naming the provider when it gives no sample, a
  // batch of another sample shape, or a non-finite value (naming the sample index).
  static SampleStore load(BatchProvider& provider, const SampleStoreOptions& options, const ProgressFn& progress = {});

  int64_t size() const { return size_; }
  const Shape& sample_shape() const { return sample_shape_; }
  const std::string& sha256() const { return sha256_; }  // of the float32 samples, in order
  const std::string& description() const { return description_; }
  int64_t batch() const { return batch_; }
  const ActivationCache& cache() const { return *cache_; }

  // Samples [begin, begin + count) as [count, C, H, W].
  TensorF32 read(int64_t begin, int64_t count) const;
  // Batches of `batch` samples (the last one shorter), in order: batch i = samples [i*batch, ...).
  BatchSource batches(int64_t batch) const;
  // The first `count` samples only (e.g. the report's SQNR pass), in batches of `batch`.
  BatchSource first(int64_t count, int64_t batch) const;

 private:
  SampleStore() = default;
  std::unique_ptr<ActivationCache> cache_;
  int64_t size_ = 0, batch_ = 64;
  Shape sample_shape_;
  std::string sha256_, description_;
};

}  // namespace mqcalib
