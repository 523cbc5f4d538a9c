// mqcalib/src/core/tensor.h: float32 tensors, dense and row-major (NCHW for images).
//
// TensorF32 owns its storage; ViewF32 / MutViewF32 are non-owning views used at module
// boundaries (observers, kernels, exporters never take ownership). All tensors are contiguous:
// strides are implied by the shape (last dimension fastest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace mqcalib {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_to_string(const Shape& s);  // "[32, 1, 28, 28]"

// Non-owning read-only view of a contiguous float32 tensor.
struct ViewF32 {
  const float* data = nullptr;
  Shape shape;

  int64_t size() const { return numel(shape); }
  int64_t dim(int i) const { return shape.at(static_cast<size_t>(i < 0 ? static_cast<int>(shape.size()) + i : i)); }
  int rank() const { return static_cast<int>(shape.size()); }
};

// Non-owning writable view.
struct MutViewF32 {
  float* data = nullptr;
  Shape shape;

  int64_t size() const { return numel(shape); }
  operator ViewF32() const { return ViewF32{data, shape}; }
};

namespace detail {
// std::allocator whose value-initialisation (vector::resize(n), vector(n)) leaves floats
// uninitialised: a buffer a kernel overwrites is not zero-filled first. Explicit fills (vector(n, v),
// resize(n, v), TensorF32(shape) with its fill) still fill.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};
}  // namespace detail

// A tensor's storage: a vector of floats whose resize does not zero-fill.
using FloatBuffer = std::vector<float, detail::DefaultInitAllocator<float>>;

// Owning float32 tensor. Empty shape {} with one element is a scalar; a default-constructed
// tensor has no shape and no data (`empty()`).
class TensorF32 {
 public:
  TensorF32() = default;
  // Filled with `fill` (zeros by default).
  explicit TensorF32(Shape shape, float fill = 0.0f)
      : shape_(std::move(shape)), data_(static_cast<size_t>(numel(shape_)), fill) {}
  TensorF32(Shape shape, const std::vector<float>& data) : shape_(std::move(shape)), data_(data.begin(), data.end()) {
    check_size();
  }
  TensorF32(Shape shape, FloatBuffer data) : shape_(std::move(shape)), data_(std::move(data)) { check_size(); }
  // A tensor whose values are left unset, for a kernel that writes every element; `storage` (an
  // earlier tensor's released buffer) is reused when it has the capacity, else reallocated.
  static TensorF32 uninitialized(Shape shape, FloatBuffer storage = {}) {
    TensorF32 t;
    t.data_ = std::move(storage);
    t.data_.resize(static_cast<size_t>(numel(shape)));
    t.shape_ = std::move(shape);
    return t;
  }
  // Moves the storage out (for reuse by uninitialized()); the tensor becomes empty.
  FloatBuffer release() {
    shape_.clear();
    return std::move(data_);
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i < 0 ? rank() + i : i)); }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty() && shape_.empty(); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  FloatBuffer& vec() { return data_; }
  const FloatBuffer& vec() const { return data_; }
  std::vector<float> to_vector() const { return std::vector<float>(data_.begin(), data_.end()); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

  ViewF32 view() const { return ViewF32{data_.data(), shape_}; }
  MutViewF32 mut_view() { return MutViewF32{data_.data(), shape_}; }
  operator ViewF32() const { return view(); }

  // Same data, new shape of equal element count (throws otherwise).
  void reshape(Shape s);

 private:
  void check_size() const {
    if (static_cast<int64_t>(data_.size()) != numel(shape_))
      throw Error("TensorF32: data size " + std::to_string(data_.size()) + " does not match shape " +
                  shape_to_string(shape_));
  }

  Shape shape_;
  FloatBuffer data_;
};

}  // namespace mqcalib
