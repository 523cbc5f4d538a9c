// mqcalib/src/graph/bn_fold.cpp: BatchNorm folding (formula in bn_fold.h, REFERENCE.md section 5).
#include "graph/bn_fold.h"

#include <cmath>

#include "core/error.h"

namespace mqcalib {
namespace {

// Why the BN at node index `bn_idx` cannot be folded, or "" when it can.
std::string fold_obstacle(const Graph& g, size_t bn_idx, int64_t* producer_idx) {
  const Node& bn = g.nodes()[bn_idx];
  if (bn.inputs.size() != 1 || bn.outputs.size() != 1) return "batch_norm does not have exactly one input and one output";
  const ValueId x = bn.inputs[0];
  const int64_t p = g.producer(x);
  *producer_idx = p;
  if (p < 0) return "its input '" + g.value(x).name + "' is a graph input, not a conv2d/linear output";
  const Node& conv = g.nodes()[static_cast<size_t>(p)];
  if (conv.kind != OpKind::Conv2d && conv.kind != OpKind::Linear)
    return "its input '" + g.value(x).name + "' is produced by " + std::string(op_name(conv.kind)) + " '" + conv.name +
           "', not by a conv2d/linear";
  if (conv.outputs.size() != 1) return "the producing " + std::string(op_name(conv.kind)) + " has several outputs";
  const std::vector<size_t> readers = g.consumers(x);
  if (readers.size() != 1)
    return "the output of '" + conv.name + "' is read by " + std::to_string(readers.size()) +
           " nodes, not only by the batch_norm";
  for (ValueId o : g.outputs())
    if (o == x) return "the output of '" + conv.name + "' is also a graph output";
  if (conv.params.weight.rank() < 2) return "'" + conv.name + "' has no weight";
  const int64_t out_ch = conv.params.weight.dim(0);
  if (bn.params.running_mean.size() != out_ch)
    return "batch_norm has " + std::to_string(bn.params.running_mean.size()) + " channels but '" + conv.name + "' has " +
           std::to_string(out_ch) + " output channels";
  if (conv.kind == OpKind::Linear) {
    const Shape& s = g.value(x).shape;
    if (!s.empty() && s.size() != 2)
      return "the linear output " + shape_to_string(s) + " has rank " + std::to_string(s.size()) +
             ": the batch_norm channel dimension 1 is not the linear's output features";
  }
  return "";
}

void check_bn_params(const Node& bn) {
  const Params& p = bn.params;
  const int64_t c = p.running_mean.size();
  if (c == 0 || p.running_var.size() != c)
    throw Error("bn_fold: batch_norm '" + bn.name + "' has missing or mismatched running statistics (mean " +
                std::to_string(c) + ", var " + std::to_string(p.running_var.size()) + ")");
  if (!p.weight.empty() && p.weight.size() != c)
    throw Error("bn_fold: batch_norm '" + bn.name + "' weight (gamma) has " + std::to_string(p.weight.size()) +
                " entries, expected " + std::to_string(c));
  if (!p.bias.empty() && p.bias.size() != c)
    throw Error("bn_fold: batch_norm '" + bn.name + "' bias (beta) has " + std::to_string(p.bias.size()) +
                " entries, expected " + std::to_string(c));
}

// Applies the fold of `bn` into `conv` (REFERENCE.md section 5), in double, stored as float.
void fold_into(Node& conv, const Node& bn) {
  const Params& bp = bn.params;
  const int64_t out_ch = conv.params.weight.dim(0);
  const int64_t per_ch = conv.params.weight.size() / out_ch;
  const double eps = static_cast<double>(bn.attrs.eps);
  if (conv.params.bias.empty()) conv.params.bias = TensorF32(Shape{out_ch}, 0.0f);
  if (conv.params.bias.size() != out_ch)
    throw Error("bn_fold: '" + conv.name + "' bias has " + std::to_string(conv.params.bias.size()) + " entries, expected " +
                std::to_string(out_ch));
  float* w = conv.params.weight.data();
  float* b = conv.params.bias.data();
  conv.bn_stats.mean.assign(static_cast<size_t>(out_ch), 0.0f);
  conv.bn_stats.std.assign(static_cast<size_t>(out_ch), 1.0f);
  for (int64_t c = 0; c < out_ch; ++c) {
    const double gamma = bp.weight.empty() ? 1.0 : static_cast<double>(bp.weight[c]);
    const double beta = bp.bias.empty() ? 0.0 : static_cast<double>(bp.bias[c]);
    const double mean = static_cast<double>(bp.running_mean[c]);
    const double var = static_cast<double>(bp.running_var[c]);
    if (!(var + eps > 0.0))
      throw Error("bn_fold: batch_norm '" + bn.name + "' channel " + std::to_string(c) + " has var + eps <= 0");
    const double s = gamma / std::sqrt(var + eps);
    for (int64_t k = 0; k < per_ch; ++k) {
      float& wk = w[c * per_ch + k];
      wk = static_cast<float>(static_cast<double>(wk) * s);
    }
    b[c] = static_cast<float>((static_cast<double>(b[c]) - mean) * s + beta);
    conv.bn_stats.mean[static_cast<size_t>(c)] = static_cast<float>(beta);
    conv.bn_stats.std[static_cast<size_t>(c)] = static_cast<float>(std::fabs(gamma));
  }
}

}  // namespace

FoldReport fold_batchnorm(Graph& g) {
  FoldReport report;
  std::vector<bool> dead(g.nodes().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (g.nodes()[i].kind != OpKind::BatchNorm) continue;
    const Node& bn = g.nodes()[i];
    check_bn_params(bn);
    int64_t p = -1;
    const std::string why = fold_obstacle(g, i, &p);
    if (!why.empty()) {
      report.unfolded.push_back({bn.name, why});
      continue;
    }
    Node& conv = g.nodes()[static_cast<size_t>(p)];
    fold_into(conv, bn);
    // The conv writes the BN's output value directly; its old output value becomes unused.
    conv.outputs[0] = bn.outputs[0];
    conv.folded.push_back(bn.name);
    report.folded.push_back({bn.name, conv.name});
    dead[i] = true;
  }
  g.erase_nodes(dead);
  g.validate();
  return report;
}

}  // namespace mqcalib
