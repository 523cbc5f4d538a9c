// mqcalib/src/graph/blocks.cpp: structural block partition (rules in blocks.h).
#include "graph/blocks.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace mqcalib {

std::string_view to_string(BlockKind k) {
  switch (k) {
    case BlockKind::Residual: return "residual";
    case BlockKind::Concat: return "concat";
    case BlockKind::Sequential: return "sequential";
    case BlockKind::FirstLayer: return "first_layer";
    case BlockKind::LastLayer: return "last_layer";
  }
  return "?";
}

std::string common_module_prefix(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  if (names.size() == 1) return names[0];
  auto split = [](const std::string& s) {
    std::vector<std::string> parts;
    size_t b = 0;
    for (;;) {
      const size_t e = s.find('.', b);
      parts.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    return parts;
  };
  std::vector<std::string> common = split(names[0]);
  for (size_t i = 1; i < names.size(); ++i) {
    const std::vector<std::string> p = split(names[i]);
    size_t k = 0;
    while (k < common.size() && k < p.size() && common[k] == p[k]) ++k;
    common.resize(k);
  }
  std::string out;
  for (size_t k = 0; k < common.size(); ++k) out += (k ? "." : "") + common[k];
  return out;
}

namespace {

bool is_weight_layer(OpKind k) { return k == OpKind::Conv2d || k == OpKind::Linear; }

bool is_activation(OpKind k) {
  switch (k) {
    case OpKind::Relu: case OpKind::Relu6: case OpKind::Hardtanh: case OpKind::Silu: case OpKind::Sigmoid:
    case OpKind::Tanh: case OpKind::Hardswish: case OpKind::Hardsigmoid: case OpKind::Gelu:
      return true;
    default:
      return false;
  }
}

// Ops that may trail a merge and still belong to its block: activations (BasicBlock's final relu)
// and shape-only ops (ShuffleNet's channel shuffle after the cat).
bool absorbable_after_merge(OpKind k) {
  return is_activation(k) || k == OpKind::Reshape || k == OpKind::Transpose || k == OpKind::Identity;
}

// A node merging two or more distinct tensors (not a tensor-and-scalar op).
bool is_tensor_merge(const Node& n) {
  if (n.kind != OpKind::Add && n.kind != OpKind::Cat && n.kind != OpKind::Mul) return false;
  if (n.attrs.has_scalar && n.kind != OpKind::Cat) return false;
  std::set<ValueId> distinct(n.inputs.begin(), n.inputs.end());
  return distinct.size() >= 2;
}

class Partitioner {
 public:
  explicit Partitioner(const Graph& g) : g_(g), n_(g.nodes().size()) {
    producer_.assign(g.values().size(), -1);
    for (size_t i = 0; i < n_; ++i)
      for (ValueId o : g.nodes()[i].outputs)
        if (producer_[static_cast<size_t>(o)] < 0) producer_[static_cast<size_t>(o)] = static_cast<int64_t>(i);
    consumers_.assign(g.values().size(), {});
    for (size_t i = 0; i < n_; ++i) {
      std::set<ValueId> seen;
      for (ValueId v : g.nodes()[i].inputs)
        if (seen.insert(v).second) consumers_[static_cast<size_t>(v)].push_back(i);
    }
    is_graph_output_.assign(g.values().size(), false);
    for (ValueId o : g.outputs()) is_graph_output_[static_cast<size_t>(o)] = true;
    compute_idom();
    for (size_t i = 0; i < n_ && first_layer_ < 0; ++i)
      if (is_weight_layer(g.nodes()[i].kind)) first_layer_ = static_cast<int64_t>(i);
  }

  std::vector<Block> run() {
    find_merge_regions();
    walk();
    for (Block& b : out_) finish(b);
    return std::move(out_);
  }

 private:
  int64_t prod(ValueId v) const { return producer_[static_cast<size_t>(v)]; }

  // Immediate dominators over the node DAG with a virtual source (index 0; node i is i + 1).
  // Nodes are in topological order, so idom[k] < k and the two-finger intersection terminates.
  void compute_idom() {
    idom_.assign(n_ + 1, 0);
    for (size_t i = 0; i < n_; ++i) {
      int64_t d = -1;
      for (ValueId v : g_.nodes()[i].inputs) {
        int64_t p = prod(v) + 1;
        if (d < 0) {
          d = p;
          continue;
        }
        while (d != p) {
          while (d > p) d = idom_[static_cast<size_t>(d)];
          while (p > d) p = idom_[static_cast<size_t>(p)];
        }
      }
      idom_[i + 1] = d < 0 ? 0 : d;
    }
  }

  // Nodes on paths from the immediate dominator of `m` (excluded) to `m` (included).
  std::set<size_t> region_of(size_t m, int64_t* dom) const {
    const int64_t d = idom_[m + 1] - 1;
    *dom = d;
    std::set<size_t> region{m};
    std::vector<size_t> stack{m};
    while (!stack.empty()) {
      const size_t k = stack.back();
      stack.pop_back();
      for (ValueId v : g_.nodes()[k].inputs) {
        const int64_t p = prod(v);
        if (p < 0 || p == d) continue;
        if (region.insert(static_cast<size_t>(p)).second) stack.push_back(static_cast<size_t>(p));
      }
    }
    return region;
  }

  bool all_readers_in(const Node& n, const std::set<size_t>& region) const {
    for (ValueId o : n.outputs) {
      if (is_graph_output_[static_cast<size_t>(o)]) return false;
      for (size_t c : consumers_[static_cast<size_t>(o)])
        if (!region.count(c)) return false;
    }
    return true;
  }

  bool in_found_region(size_t k) const {
    for (const Region& r : regions_)
      if (r.nodes.count(k)) return true;
    return false;
  }

  void extend_with_squeeze(size_t d, std::set<size_t>& region) const {
    size_t k = d;
    if (is_activation(g_.nodes()[k].kind)) {
      if (g_.nodes()[k].inputs.size() != 1) return;
      const int64_t p = prod(g_.nodes()[k].inputs[0]);
      if (p < 0 || p == first_layer_ || !is_weight_layer(g_.nodes()[static_cast<size_t>(p)].kind)) return;
      if (in_found_region(k) || !all_readers_in(g_.nodes()[k], region)) return;
      region.insert(k);
      k = static_cast<size_t>(p);
    }
    if (static_cast<int64_t>(k) == first_layer_) return;
    if (is_weight_layer(g_.nodes()[k].kind) && !in_found_region(k) && all_readers_in(g_.nodes()[k], region))
      region.insert(k);
  }

  void find_merge_regions() {
    block_of_.assign(n_, -1);
    group_of_.assign(n_, -1);
    std::vector<std::set<size_t>> groups;
    for (size_t m = 0; m < n_; ++m) {
      const Node& node = g_.nodes()[m];
      if (!is_tensor_merge(node)) continue;
      int64_t d = -1;
      std::set<size_t> region = region_of(m, &d);
      if (node.kind == OpKind::Mul) {  // gating (squeeze-excite): an atomic group inside a run
        groups.push_back(std::move(region));
        continue;
      }
      // A chunk/split feeding only this region is its entry (ShuffleNet unit).
      if (d >= 0) {
        const Node& dn = g_.nodes()[static_cast<size_t>(d)];
        if ((dn.kind == OpKind::Chunk || dn.kind == OpKind::Split) && all_readers_in(dn, region))
          region.insert(static_cast<size_t>(d));
      }
      // A concat whose branches all start from one conv (+ activation) read only by them takes
      // that conv in: SqueezeNet's fire module starts at its squeeze conv. The graph's first
      // conv/linear stays in the first_layer block (a stem feeding an inception directly).
      if (node.kind == OpKind::Cat && d >= 0) extend_with_squeeze(static_cast<size_t>(d), region);
      // Activations / shape ops reading the merge result alone belong to the block.
      size_t cur = m;
      for (;;) {
        const ValueId o = g_.nodes()[cur].outputs.at(0);
        if (is_graph_output_[static_cast<size_t>(o)]) break;
        const std::vector<size_t>& readers = consumers_[static_cast<size_t>(o)];
        if (readers.size() != 1) break;
        const Node& r = g_.nodes()[readers[0]];
        if (!absorbable_after_merge(r.kind) || r.inputs.size() != 1) break;
        cur = readers[0];
        region.insert(cur);
      }
      // An enclosing merge swallows blocks already found inside it.
      Region reg{node.kind == OpKind::Add ? BlockKind::Residual : BlockKind::Concat, std::move(region)};
      for (size_t r = 0; r < regions_.size(); ++r) {
        if (regions_[r].nodes.empty()) continue;
        bool overlap = false;
        for (size_t k : regions_[r].nodes)
          if (reg.nodes.count(k)) overlap = true;
        if (overlap) {
          reg.nodes.insert(regions_[r].nodes.begin(), regions_[r].nodes.end());
          regions_[r].nodes.clear();
        }
      }
      regions_.push_back(std::move(reg));
    }
    for (size_t r = 0; r < regions_.size(); ++r)
      for (size_t k : regions_[r].nodes) block_of_[k] = static_cast<int64_t>(r);
    for (size_t gi = 0; gi < groups.size(); ++gi)
      for (size_t k : groups[gi])
        if (group_of_[k] < 0) group_of_[k] = static_cast<int64_t>(gi);
  }

  // True when node i reads (through identity / unfolded batch_norm) the output of a conv/linear
  // already in the current run: no nonlinearity between two layers, a linear-bottleneck boundary.
  bool reads_layer_directly(size_t i) const {
    const Node& n = g_.nodes()[i];
    if (n.inputs.empty()) return false;
    int64_t p = prod(n.inputs[0]);
    while (p >= 0 && (g_.nodes()[static_cast<size_t>(p)].kind == OpKind::Identity ||
                      g_.nodes()[static_cast<size_t>(p)].kind == OpKind::BatchNorm))
      p = g_.nodes()[static_cast<size_t>(p)].inputs.empty() ? -1 : prod(g_.nodes()[static_cast<size_t>(p)].inputs[0]);
    if (p < 0 || !is_weight_layer(g_.nodes()[static_cast<size_t>(p)].kind)) return false;
    return std::find(cur_.nodes.begin(), cur_.nodes.end(), static_cast<size_t>(p)) != cur_.nodes.end();
  }

  void close_run() {
    if (cur_.nodes.empty()) return;
    bool has_layer = false;
    for (size_t k : cur_.nodes) has_layer = has_layer || is_weight_layer(g_.nodes()[k].kind);
    if (!has_layer && cur_.kind == BlockKind::Sequential) {
      if (!out_.empty())
        out_.back().nodes.insert(out_.back().nodes.end(), cur_.nodes.begin(), cur_.nodes.end());
      else
        pending_.insert(pending_.end(), cur_.nodes.begin(), cur_.nodes.end());
    } else {
      push(std::move(cur_));
    }
    cur_ = Block{};
    run_layers_ = 0;
  }

  // Name from the block's own nodes (before stray pooling etc. is attached to it).
  std::string name_of(const std::vector<size_t>& nodes) const {
    std::vector<std::string> names;
    for (size_t k : nodes) names.push_back(g_.nodes()[k].name);
    std::string name = common_module_prefix(names);
    if (!name.empty()) return name;
    for (size_t k : nodes)
      if (is_weight_layer(g_.nodes()[k].kind)) return g_.nodes()[k].name;
    return nodes.empty() ? std::string() : g_.nodes()[nodes.front()].name;
  }

  void push(Block b) {
    b.name = name_of(b.nodes);
    if (!pending_.empty()) {
      b.nodes.insert(b.nodes.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    out_.push_back(std::move(b));
  }

  void walk() {
    int64_t first = -1, last = -1;
    for (size_t i = 0; i < n_; ++i)
      if (is_weight_layer(g_.nodes()[i].kind)) {
        if (first < 0) first = static_cast<int64_t>(i);
        last = static_cast<int64_t>(i);
      }
    std::vector<bool> emitted(regions_.size(), false);
    for (size_t i = 0; i < n_; ++i) {
      const int64_t r = block_of_[i];
      if (r >= 0) {
        close_run();
        if (!emitted[static_cast<size_t>(r)]) {
          emitted[static_cast<size_t>(r)] = true;
          Block b;
          b.kind = regions_[static_cast<size_t>(r)].kind;
          b.nodes.assign(regions_[static_cast<size_t>(r)].nodes.begin(), regions_[static_cast<size_t>(r)].nodes.end());
          push(std::move(b));
        }
        continue;
      }
      const Node& node = g_.nodes()[i];
      const bool layer = is_weight_layer(node.kind);
      bool group_continues = false;
      if (group_of_[i] >= 0)
        for (size_t k : cur_.nodes)
          if (group_of_[k] == group_of_[i]) group_continues = true;
      if (!group_continues && cur_.kind != BlockKind::LastLayer) {
        if (static_cast<int64_t>(i) == last) {
          if (run_layers_ > 0 || cur_.kind == BlockKind::FirstLayer) close_run();
          cur_.kind = BlockKind::LastLayer;
        } else if (static_cast<int64_t>(i) == first) {
          close_run();
          cur_.kind = BlockKind::FirstLayer;
        } else if (layer) {
          if (cur_.kind == BlockKind::FirstLayer || run_layers_ >= kMaxRunLayers || (run_layers_ > 0 && reads_layer_directly(i)))
            close_run();
        }
      }
      cur_.nodes.push_back(i);
      if (layer && group_of_[i] < 0) ++run_layers_;
    }
    close_run();
    if (!pending_.empty() && !out_.empty()) {
      out_.back().nodes.insert(out_.back().nodes.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
  }

  void finish(Block& b) const {
    std::sort(b.nodes.begin(), b.nodes.end());
    std::set<size_t> in(b.nodes.begin(), b.nodes.end());
    std::set<ValueId> produced;
    b.weight_layers = 0;
    for (size_t k : b.nodes) {
      const Node& n = g_.nodes()[k];
      if (is_weight_layer(n.kind)) ++b.weight_layers;
      for (ValueId v : n.inputs)
        if (!produced.count(v) && std::find(b.inputs.begin(), b.inputs.end(), v) == b.inputs.end()) b.inputs.push_back(v);
      for (ValueId o : n.outputs) produced.insert(o);
    }
    b.output = kNoValue;
    for (size_t k : b.nodes)
      for (ValueId o : g_.nodes()[k].outputs) {
        bool outside = is_graph_output_[static_cast<size_t>(o)];
        for (size_t c : consumers_[static_cast<size_t>(o)]) outside = outside || !in.count(c);
        if (outside) b.output = o;
      }
    if (b.output == kNoValue && !b.nodes.empty()) b.output = g_.nodes()[b.nodes.back()].outputs.at(0);
    if (b.name.empty()) b.name = name_of(b.nodes);
  }

  struct Region {
    BlockKind kind;
    std::set<size_t> nodes;
  };

  const Graph& g_;
  size_t n_;
  std::vector<int64_t> producer_;
  std::vector<std::vector<size_t>> consumers_;
  std::vector<bool> is_graph_output_;
  std::vector<int64_t> idom_;
  int64_t first_layer_ = -1;  // index of the graph's first conv/linear
  std::vector<Region> regions_;
  std::vector<int64_t> block_of_;
  std::vector<int64_t> group_of_;
  std::vector<Block> out_;
  std::vector<size_t> pending_;
  Block cur_;
  int run_layers_ = 0;
};

}  // namespace

std::vector<Block> partition_blocks(const Graph& g) {
  for (const Node& n : g.nodes())
    for (ValueId v : n.inputs)
      if (v < 0 || static_cast<size_t>(v) >= g.values().size())
        throw Error("blocks: node '" + n.name + "' reads an undefined tensor id " + std::to_string(v));
  return Partitioner(g).run();
}

}  // namespace mqcalib
