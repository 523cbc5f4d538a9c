// mqcalib/src/import/checked_load.cpp: load_checked_module(), see checked_load.h.
#include "import/checked_load.h"

#include <c10/core/CPUAllocator.h>
#include <torch/csrc/jit/api/function_impl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "import/model_file_kind.h"

namespace mqcalib::import_detail {

namespace {

// Forwards to the CPU allocator it replaced and, while a load is being checked, remembers how many
// bytes it gave at each address (the latest allocation wins, so a freed and reused address holds the
// size of its live buffer). Installed once for the life of the process and never removed: another
// thread may be inside allocate() at any time (a LibTorch forward beside a load), so the object it
// calls through must outlive every such call. Outside a load it only forwards.
class RecordingCpuAllocator final : public c10::Allocator {
 public:
  // The process's one instance, installed on first use (priority 255: no registered allocator
  // outranks it).
  static RecordingCpuAllocator& installed() {
    static RecordingCpuAllocator* const instance = [] {
      auto* a = new RecordingCpuAllocator(c10::GetCPUAllocator());  // never deleted (see above)
      c10::SetCPUAllocator(a, 255);
      return a;
    }();
    return *instance;
  }
  c10::DataPtr allocate(size_t n) const override {
    c10::DataPtr p = inner_->allocate(n);
    if (recording_.load(std::memory_order_acquire)) {
      const std::lock_guard<std::mutex> lock(mutex_);
      sizes_[p.get()] = n;
    }
    return p;
  }
  c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }
  std::optional<size_t> size_at(const void* p) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = sizes_.find(p);
    if (it == sizes_.end()) return std::nullopt;
    return it->second;
  }
  // Recording on for one load (loads are serialised by load_mutex()); off clears what was recorded.
  void set_recording(bool on) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    sizes_.clear();
    recording_.store(on, std::memory_order_release);
  }

 private:
  explicit RecordingCpuAllocator(c10::Allocator* inner) : inner_(inner) {}
  c10::Allocator* inner_;
  mutable std::atomic<bool> recording_{false};
  mutable std::mutex mutex_;
  mutable std::unordered_map<const void*, size_t> sizes_;
};

// Records the buffers LibTorch allocates during its lifetime (one load).
class AllocationRecorder {
 public:
  AllocationRecorder() : recorder_(RecordingCpuAllocator::installed()) { recorder_.set_recording(true); }
  ~AllocationRecorder() { recorder_.set_recording(false); }
  AllocationRecorder(const AllocationRecorder&) = delete;
  AllocationRecorder& operator=(const AllocationRecorder&) = delete;
  const RecordingCpuAllocator& recorder() const { return recorder_; }

 private:
  const RecordingCpuAllocator& recorder_;
};

// Bytes from the storage's start to one past the tensor's last element; nullopt when a stride or the
// offset is negative or the arithmetic overflows (such a claim is refused as well).
std::optional<uint64_t> extent_bytes(const at::Tensor& t) {
  if (t.numel() == 0) return 0;
  int64_t last = t.storage_offset();
  if (last < 0) return std::nullopt;
  for (int64_t d = 0; d < t.dim(); ++d) {
    int64_t step = 0;
    if (t.stride(d) < 0 || __builtin_mul_overflow(t.size(d) - 1, t.stride(d), &step) ||
        __builtin_add_overflow(last, step, &last))
      return std::nullopt;
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(last) + 1, static_cast<uint64_t>(t.element_size()), &bytes))
    return std::nullopt;
  return bytes;
}

class TensorBoundsCheck {
 public:
  TensorBoundsCheck(std::string who, std::string path, const RecordingCpuAllocator& buffers)
      : who_(std::move(who)), path_(std::move(path)), buffers_(buffers) {}

  void tensor(const at::Tensor& t, const std::string& name) const {
    if (!t.defined()) return;
    if (t.layout() != c10::kStrided || !t.has_storage())
      refuse(name, "is not a dense tensor (layout " + c10::str(t.layout()) + "); mqcalib reads dense tensors only");
    const std::optional<uint64_t> need = extent_bytes(t);
    if (!need) refuse(name, "has a negative stride or offset, or a size whose byte count overflows");
    if (*need == 0) return;
    const c10::Storage& s = t.storage();
    uint64_t have = s.nbytes();
    if (s.data() == nullptr)
      have = 0;
    else if (const std::optional<size_t> buffer = buffers_.size_at(s.data()))
      have = std::min<uint64_t>(have, *buffer);
    if (*need > have)
      refuse(name, "claims " + std::to_string(*need) + " bytes (shape " + c10::str(t.sizes()) + ", " +
                       std::string(t.dtype().name()) + ") but the file holds " + std::to_string(have) +
                       " bytes for it: the model file is corrupt or truncated");
  }

  void value(const c10::IValue& v, const std::string& name, int depth) {
    if (depth > kMaxDepth) refuse(name, "nests deeper than " + std::to_string(kMaxDepth) + " levels");
    if (v.isTensor()) {
      tensor(v.toTensor(), name);
    } else if (v.isObject()) {
      const c10::intrusive_ptr<c10::ivalue::Object> o = v.toObject();
      if (!seen_.insert(o.get()).second) return;  // a submodule shared by two attributes
      for (size_t i = 0; i < o->slots().size(); ++i)
        value(o->getSlot(i), join(name, o->type()->getAttributeName(i)), depth + 1);
    } else if (v.isTuple()) {
      const auto& e = v.toTupleRef().elements();
      for (size_t i = 0; i < e.size(); ++i) value(e[i], name + "[" + std::to_string(i) + "]", depth + 1);
    } else if (v.isList()) {
      const c10::List<c10::IValue> l = v.toList();
      for (size_t i = 0; i < l.size(); ++i) value(l.get(i), name + "[" + std::to_string(i) + "]", depth + 1);
    } else if (v.isGenericDict()) {
      for (const auto& kv : v.toGenericDict()) value(kv.value(), name + "[...]", depth + 1);
    }
  }

  void constants(const torch::jit::Block* b, const std::string& function) {
    for (const torch::jit::Node* n : b->nodes()) {
      if (n->kind() == c10::prim::Constant && n->output()->type()->kind() == c10::TypeKind::TensorType)
        tensor(torch::jit::toIValue(n->output())->toTensor(), "a tensor constant of " + function);
      for (const torch::jit::Block* inner : n->blocks()) constants(inner, function);
    }
  }

 private:
  static constexpr int kMaxDepth = 256;
  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }
  [[noreturn]] void refuse(const std::string& name, const std::string& why) const {
    throw Error(who_ + ": '" + path_ + "': tensor '" + (name.empty() ? "<root>" : name) + "' " + why);
  }

  std::string who_, path_;
  const RecordingCpuAllocator& buffers_;
  std::unordered_set<const void*> seen_;
};

std::mutex& load_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

torch::jit::Module load_checked_module(const std::string& who, const std::string& path) {
  const std::lock_guard<std::mutex> one_load_at_a_time(load_mutex());
  const AllocationRecorder recording;
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw Error(load_error(who, path, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    // LibTorch's TorchScript parser throws torch::jit::ErrorReport, not a c10::Error (fuzz_torchscript).
    throw Error(load_error(who, path, e.what()));
  }
  TensorBoundsCheck check(who, path, recording.recorder());
  check.value(module._ivalue(), "", 0);
  for (const torch::jit::Function* f : module._ivalue()->compilation_unit()->get_functions())
    if (f->isGraphFunction())
      check.constants(torch::jit::toGraphFunction(*f).graph()->block(), "'" + f->qualname().qualifiedName() + "'");
  return module;
}

}  // namespace mqcalib::import_detail
