// mqcalib/src/pipeline/batch_providers.h: calibration sources a library caller hands over (the C++ and
// C APIs): batches copied from the caller's memory, or a callback the engine calls for the next batch
// (TensorRT's IInt8Calibrator::getBatch style). Both are read once by SampleStore::load.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/sample_store.h"

namespace mqcalib {

// Batches added before calibration, each [n, C, H, W] with one sample shape. Re-batched on reading.
class MemoryBatches : public BatchProvider {
 public:
  explicit MemoryBatches(std::string description = "caller batches") : description_(std::move(description)) {}
  // Throws Error naming the batch when its shape differs from the first one or n < 1.
  void add(TensorF32 batch);
  bool empty() const { return batches_.empty(); }
  Shape sample_shape() const override;
  int64_t size() const override { return samples_; }
  bool next(int64_t max_samples, TensorF32& x) override;
  std::string description() const override { return description_; }

 private:
  std::string description_;
  std::vector<TensorF32> batches_;
  int64_t samples_ = 0;
  size_t batch_ = 0;  // reading position: batch, sample within it
  int64_t offset_ = 0;
};

// fn(buffer, capacity) writes up to `capacity` samples of the declared shape into `buffer` and returns
// how many it wrote; 0 ends the data. A value outside [0, capacity] is an Error.
class CallbackBatches : public BatchProvider {
 public:
  using NextFn = std::function<int64_t(float* buffer, int64_t capacity)>;
  CallbackBatches(Shape sample_shape, NextFn fn);
  Shape sample_shape() const override { return shape_; }
  int64_t size() const override { return -1; }
  bool next(int64_t max_samples, TensorF32& x) override;
  std::string description() const override { return "caller callback"; }

 private:
  Shape shape_;
  NextFn fn_;
  bool done_ = false;
};

}  // namespace mqcalib
