// mqcalib/src/exec/output_quant.cpp: OutputQuant (executor.h), per-value fake-quantization params.
#include <string>

#include "core/error.h"
#include "exec/executor.h"

namespace mqcalib {

OutputQuant::OutputQuant(size_t value_count) : index_(value_count, -1) {}

void OutputQuant::set(ValueId v, QParams p, std::string_view tensor) {
  if (v < 0 || static_cast<size_t>(v) >= index_.size())
    throw Error("OutputQuant: tensor '" + std::string(tensor) + "' has value id " + std::to_string(v) +
                " outside the graph's " + std::to_string(index_.size()) + " values");
  p.validate(tensor);
  const bool per_tensor = !p.per_channel();
  const FakeQuantF32 k = per_tensor ? fake_quant_consts(p, tensor) : FakeQuantF32{};
  int& i = index_[static_cast<size_t>(v)];
  if (i < 0) {
    i = static_cast<int>(params_.size());
    params_.push_back(std::move(p));
    consts_.push_back(k);
    per_tensor_.push_back(per_tensor);
    return;
  }
  params_[static_cast<size_t>(i)] = std::move(p);
  consts_[static_cast<size_t>(i)] = k;
  per_tensor_[static_cast<size_t>(i)] = per_tensor;
}

const QParams* OutputQuant::params(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= index_.size() || index_[static_cast<size_t>(v)] < 0) return nullptr;
  return &params_[static_cast<size_t>(index_[static_cast<size_t>(v)])];
}

const FakeQuantF32* OutputQuant::epilogue(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= index_.size() || index_[static_cast<size_t>(v)] < 0) return nullptr;
  const size_t i = static_cast<size_t>(index_[static_cast<size_t>(v)]);
  return per_tensor_[i] ? &consts_[i] : nullptr;
}

}  // namespace mqcalib
