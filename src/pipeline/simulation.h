// mqcalib/src/pipeline/simulation.h: the quantized model as the float executor runs it (fake
// quantization), built from the record alone, by the same functions for `quantize` and `evaluate`.
//
//   weights      s * (code - zp) for recorded integer codes, else fake_quantize(W) (core/quantize.h)
//   biases       on the int32 grid of s_in * s_w (core/bias_i32.h)
//   activations  fake_quantize(x) as the executor produces x, by a ValueHook (the executor knows
//                nothing of quantization, docs/STYLE.md)
//   adds         of two quantized tensors: as the backend's integer add (simulation_adds.h)
// The stages before the record use the same pieces on the state being built: with_quantized_weights
// (observation and reconstruction caches run the model with quantized weights and FP activations).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "core/stats.h"
#include "exec/executor.h"
#include "export/quant_record.h"
#include "graph/ir.h"
#include "pipeline/quant_state.h"
#include "pipeline/simulation_adds.h"

namespace mqcalib {

// The weight the runtime runs, in place: s * (codes - zp) when `codes` is non-empty, else fake_quantize(w).
void apply_weight_quant(TensorF32& weight, const QParams& params, const std::vector<int32_t>& codes,
                        const std::string& tensor);

// The folded graph with every weight of `state` applied (biases and activations FP32).
Graph with_quantized_weights(const Graph& folded, const QuantState& state);

// Fake quantization of activation values: value id -> params. Copies share one immutable table.
class ActivationQuantizers {
 public:
  ActivationQuantizers() = default;
  // params[i] for value values[i]; value_count is the graph's value count.
  ActivationQuantizers(size_t value_count, const std::vector<ValueId>& values, std::vector<QParams> params,
                       std::vector<std::string> tensors);
  size_t size() const { return table_ ? table_->params.size() : 0; }
  const std::string& tensor(size_t i) const { return table_->tensors.at(i); }
  // The hook that fake-quantizes each planned value in place. With `sqnr` (size() entries, zeroed by
  // the caller), also accumulates each point's sum x^2 and sum (x - q(x))^2.
  ValueHook hook(std::vector<SqnrSums>* sqnr = nullptr) const;

 private:
  struct Table {
    std::vector<int> index_of_value;
    std::vector<QParams> params;
    std::vector<std::string> tensors;
  };
  std::shared_ptr<const Table> table_;
};

struct Simulation {
  Graph graph;                                      // weights and biases as the runtime runs them
  ActivationQuantizers activations;                 // in record order
  std::shared_ptr<const IntegerAdds> integer_adds;  // adds run as the runtime adds codes (null: none)

  // How to run `graph` as the simulated runtime: `hook` on every value (activations.hook(), or a
  // caller's that calls it) and the integer-form adds.
  RunOptions run_options(ValueHook hook) const;
};

// The FP graph a record was computed on: `folded` (the model file's plain BN fold) with the record's
// folded FP weights and biases (QuantRecord::float_weights: equalization, high-bias absorption, bias
// correction) and op changes (equalization's relu6 -> relu) applied. Throws Error naming the tensor or
// node of the record that `folded` does not have, a shape that differs, or an op change other than
// relu6 -> relu.
Graph recorded_fp_graph(const Graph& folded, const QuantRecord& record);

// The simulation of recorded_fp_graph(folded, record). Throws Error naming the record's tensor when it
// refers to no node or value of `folded`, when codes do not match the weight's shape, or when an
// activation is listed twice.
Simulation build_simulation(const Graph& folded, const QuantRecord& record);

}  // namespace mqcalib
