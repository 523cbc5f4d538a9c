// mqcalib/src/import/libtorch_reference.cpp: see libtorch_reference.h.
#include "import/libtorch_reference.h"

#include <ATen/Parallel.h>
#include <torch/script.h>

#include <cstring>

#include "core/error.h"
#include "import/checked_load.h"
#include "import/omp_threads_guard.h"

namespace mqcalib {

void set_libtorch_threads(int threads) {
  if (threads < 1) throw Error("set_libtorch_threads: thread count must be >= 1, got " + std::to_string(threads));
  const import_detail::OmpThreadsGuard keep_engine_threads;
  at::set_num_threads(threads);
}

int libtorch_threads() { return at::get_num_threads(); }

struct LibTorchModel::Impl {
  mutable torch::jit::Module module;
};

LibTorchModel::LibTorchModel(const std::string& path, bool freeze_for_speed) : impl_(new Impl), path_(path) {
  const import_detail::OmpThreadsGuard keep_engine_threads;
  impl_->module = import_detail::load_checked_module("libtorch", path);
  try {
    impl_->module.eval();
    if (freeze_for_speed) impl_->module = torch::jit::freeze(impl_->module);
  } catch (const c10::Error& e) {
    throw Error("libtorch: '" + path + "': cannot prepare the model for inference: " + e.what_without_backtrace());
  }
}

LibTorchModel::~LibTorchModel() = default;
LibTorchModel::LibTorchModel(LibTorchModel&&) noexcept = default;
LibTorchModel& LibTorchModel::operator=(LibTorchModel&&) noexcept = default;

namespace {
const at::Tensor* first_tensor(const c10::IValue& v) {
  if (v.isTensor()) return &v.toTensor();
  if (v.isTuple())
    for (const c10::IValue& e : v.toTupleRef().elements())
      if (const at::Tensor* t = first_tensor(e)) return t;
  return nullptr;
}
}  // namespace

TensorF32 LibTorchModel::forward(const TensorF32& x) const {
  const import_detail::OmpThreadsGuard keep_engine_threads;
  try {
    torch::InferenceMode guard;
    std::vector<int64_t> sizes(x.shape().begin(), x.shape().end());
    at::Tensor in = torch::empty(sizes, torch::kFloat32);
    std::memcpy(in.data_ptr<float>(), x.data(), sizeof(float) * static_cast<size_t>(x.size()));
    c10::IValue out = impl_->module.forward({in});
    if (out.isList()) out = out.toListRef().empty() ? c10::IValue() : out.toListRef()[0];
    const at::Tensor* t = first_tensor(out);
    if (!t) throw Error("libtorch: model '" + path_ + "' returned no tensor");
    at::Tensor r = t->to(torch::kFloat32).contiguous();
    TensorF32 res(Shape(r.sizes().begin(), r.sizes().end()));
    std::memcpy(res.data(), r.data_ptr<float>(), sizeof(float) * static_cast<size_t>(res.size()));
    return res;
  } catch (const c10::Error& e) {
    throw Error("libtorch: forward of '" + path_ + "' on input " + shape_to_string(x.shape()) +
                " failed: " + e.what_without_backtrace());
  }
}

}  // namespace mqcalib
