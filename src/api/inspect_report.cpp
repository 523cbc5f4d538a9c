// mqcalib/src/api/inspect_report.cpp: JSON and text sections of mqcalib::inspect().
#include "api/inspect_report.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace mqcalib::inspection {

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> c;
  for (const Node& n : g.nodes()) ++c[std::string(op_name(n.kind))];
  return c;
}

namespace {

nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

std::vector<std::string> names(const Graph& g, const std::vector<ValueId>& ids) {
  std::vector<std::string> out;
  for (ValueId v : ids) out.push_back(g.value(v).name);
  return out;
}

}  // namespace

nlohmann::json nodes_json(const Graph& g) {
  nlohmann::json a = nlohmann::json::array();
  for (const Node& n : g.nodes()) {
    nlohmann::json j;
    j["name"] = n.name;
    j["op"] = std::string(op_name(n.kind));
    j["inputs"] = names(g, n.inputs);
    j["outputs"] = names(g, n.outputs);
    if (!n.folded.empty()) j["folded"] = n.folded;
    if (!n.params.weight.empty()) j["weight_shape"] = n.params.weight.shape();
    a.push_back(j);
  }
  return a;
}

nlohmann::json io_json(const Graph& g, const std::vector<ValueId>& ids) {
  nlohmann::json a = nlohmann::json::array();
  for (ValueId v : ids) a.push_back({{"name", g.value(v).name}, {"shape", g.value(v).shape}});
  return a;
}

nlohmann::json folded_json(const FoldReport& r) {
  nlohmann::json f = nlohmann::json::array(), u = nlohmann::json::array();
  for (const FoldedBn& x : r.folded) f.push_back({{"bn", x.bn}, {"into", x.into}});
  for (const UnfoldedBn& x : r.unfolded) u.push_back({{"bn", x.bn}, {"reason", x.reason}});
  return {{"folded", f}, {"unfolded", u}};
}

nlohmann::json blocks_json(const Graph& g, const std::vector<Block>& blocks) {
  nlohmann::json a = nlohmann::json::array();
  for (const Block& b : blocks) {
    std::vector<std::string> nodes;
    for (size_t k : b.nodes) nodes.push_back(g.nodes()[k].name);
    a.push_back({{"name", b.name},
                 {"kind", std::string(to_string(b.kind))},
                 {"nodes", nodes},
                 {"inputs", names(g, b.inputs)},
                 {"output", b.output == kNoValue ? std::string() : g.value(b.output).name},
                 {"weight_layers", b.weight_layers}});
  }
  return a;
}

nlohmann::json weights_json(const std::vector<WeightStats>& w) {
  nlohmann::json a = nlohmann::json::array();
  for (const WeightStats& s : w) {
    std::vector<float> ranges;
    for (size_t c = 0; c < s.channel_min.size(); ++c) ranges.push_back(s.channel_max[c] - s.channel_min[c]);
    a.push_back({{"node", s.node},
                 {"op", std::string(op_name(s.kind))},
                 {"shape", s.shape},
                 {"min", s.min},
                 {"max", s.max},
                 {"absmax", s.absmax},
                 {"std", s.std},
                 {"absmax_over_std", s.absmax_over_std},
                 {"channel_min", s.channel_min},
                 {"channel_max", s.channel_max},
                 {"channel_range", ranges},
                 {"channel_range_spread", finite_or_null(s.channel_range_spread)},
                 {"sqnr_db",
                  {{"per_tensor_int8", finite_or_null(s.sqnr_per_tensor_8)},
                   {"per_channel_int8", finite_or_null(s.sqnr_per_channel_8)},
                   {"per_tensor_int4", finite_or_null(s.sqnr_per_tensor_4)},
                   {"per_channel_int4", finite_or_null(s.sqnr_per_channel_4)}}}});
  }
  return a;
}

void print_summary(std::ostream& os, const Graph& g, const std::map<std::string, int>& counts_before_fold) {
  os << "graph: " << g.nodes().size() << " nodes as imported (before BN folding)\n  inputs:";
  for (ValueId v : g.inputs()) os << " " << g.value(v).name << shape_to_string(g.value(v).shape);
  os << "\n  outputs:";
  for (ValueId v : g.outputs()) os << " " << g.value(v).name << shape_to_string(g.value(v).shape);
  os << "\n  ops (as imported):";
  for (const auto& kv : counts_before_fold) os << " " << kv.first << " " << kv.second << ";";
  os << "\n";
}

void print_folds(std::ostream& os, const FoldReport& r) {
  os << "batch norm folding: " << r.folded.size() << " folded, " << r.unfolded.size() << " left\n";
  for (const FoldedBn& x : r.folded) os << "  " << x.bn << " -> " << x.into << "\n";
  for (const UnfoldedBn& x : r.unfolded) os << "  NOT folded " << x.bn << ": " << x.reason << "\n";
}

void print_blocks(std::ostream& os, const Graph& g, const std::vector<Block>& blocks) {
  std::map<std::string, int> by_kind;
  for (const Block& b : blocks) ++by_kind[std::string(to_string(b.kind))];
  os << "blocks: " << blocks.size() << " (";
  bool first = true;
  for (const auto& kv : by_kind) {
    os << (first ? "" : ", ") << kv.first << " " << kv.second;
    first = false;
  }
  os << ")\n";
  for (const Block& b : blocks) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-12s %-28s %3zu nodes %2d layers -> ", std::string(to_string(b.kind)).c_str(),
                  b.name.c_str(), b.nodes.size(), b.weight_layers);
    os << line << (b.output == kNoValue ? std::string("?") : g.value(b.output).name) << "\n";
  }
}

void print_weights(std::ostream& os, const std::vector<WeightStats>& w) {
  os << "weights (after folding; SQNR dB of symmetric int8/int4, per-tensor / per-channel):\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-32s %-18s %9s %9s %8s %9s %7s %7s %7s %7s\n", "layer", "shape", "min", "max",
                "max/std", "ch-spread", "pt8", "pc8", "pt4", "pc4");
  os << line;
  for (const WeightStats& s : w) {
    std::snprintf(line, sizeof line, "  %-32s %-18s %9.4g %9.4g %8.2f %9.2f %7.2f %7.2f %7.2f %7.2f\n", s.node.c_str(),
                  shape_to_string(s.shape).c_str(), static_cast<double>(s.min), static_cast<double>(s.max),
                  s.absmax_over_std, s.channel_range_spread, s.sqnr_per_tensor_8, s.sqnr_per_channel_8,
                  s.sqnr_per_tensor_4, s.sqnr_per_channel_4);
    os << line;
  }
}

}  // namespace mqcalib::inspection
