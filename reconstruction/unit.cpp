// mqcalib/reconstruction/unit.cpp: reconstruction units at every granularity (rules in unit.h).
#include "reconstruction/unit.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "graph/blocks.h"

namespace mqcalib {

namespace {

bool is_weighted(const Node& n) { return n.kind == OpKind::Conv2d || n.kind == OpKind::Linear; }

std::string unit_name(const Graph& g, const std::vector<size_t>& nodes) {
  std::vector<std::string> names;
  for (size_t i : nodes) names.push_back(g.nodes()[i].name);
  return common_module_prefix(names);
}

// A block's nodes cut before each weighted node but the first.
std::vector<Unit> layer_units(const Graph& g, const Block& b) {
  std::vector<std::vector<size_t>> parts;
  bool seen_weighted = false;
  for (size_t i : b.nodes) {
    const bool w = is_weighted(g.nodes()[i]);
    if (parts.empty() || (w && seen_weighted)) parts.emplace_back();
    seen_weighted = seen_weighted || w;
    parts.back().push_back(i);
  }
  std::vector<Unit> out;
  for (std::vector<size_t>& p : parts) {
    std::string name = unit_name(g, p);
    for (size_t i : p)
      if (is_weighted(g.nodes()[i])) name = g.nodes()[i].name;  // a layer unit is named by its layer
    const bool edge = b.kind == BlockKind::FirstLayer || b.kind == BlockKind::LastLayer;
    out.push_back(make_unit(g, std::move(p), name, edge ? std::string(to_string(b.kind)) : "layer"));
  }
  return out;
}

// H, W of a rank-4 value, or {-1, -1} for other ranks; throws when the shape is missing.
std::pair<int64_t, int64_t> resolution(const Graph& g, ValueId v) {
  const Shape& s = g.value(v).shape;
  if (s.empty())
    throw Error("stage granularity: value '" + g.value(v).name + "' has no shape (the importer infers shapes)");
  if (s.size() != 4) return {-1, -1};
  return {s[2], s[3]};
}

std::vector<Unit> stage_units(const Graph& g, const std::vector<Block>& blocks) {
  std::vector<Unit> out;
  std::vector<size_t> cur;
  std::vector<std::string> cur_blocks;
  std::pair<int64_t, int64_t> res{-2, -2};
  auto flush = [&] {
    if (cur.empty()) return;
    std::string name = cur_blocks.size() == 1 ? cur_blocks[0] : common_module_prefix(cur_blocks);
    if (cur_blocks.size() > 1 && name.empty()) name = "stage " + cur_blocks.front() + ".." + cur_blocks.back();
    out.push_back(make_unit(g, cur, name, "stage"));
    cur.clear();
    cur_blocks.clear();
  };
  for (const Block& b : blocks) {
    if (b.kind == BlockKind::FirstLayer || b.kind == BlockKind::LastLayer) {
      flush();
      out.push_back(make_unit(g, b.nodes, b.name, std::string(to_string(b.kind))));
      res = {-2, -2};
      continue;
    }
    const std::pair<int64_t, int64_t> r = resolution(g, b.output);
    if (r != res || r.first < 0) flush();
    res = r;
    cur.insert(cur.end(), b.nodes.begin(), b.nodes.end());
    cur_blocks.push_back(b.name);
  }
  flush();
  return out;
}

}  // namespace

std::string_view to_string(UnitGranularity g) {
  switch (g) {
    case UnitGranularity::Layer:
      return "layer";
    case UnitGranularity::Block:
      return "block";
    case UnitGranularity::Stage:
      return "stage";
    case UnitGranularity::Network:
      return "network";
  }
  return "?";
}

UnitGranularity parse_unit_granularity(std::string_view text) {
  for (UnitGranularity g :
       {UnitGranularity::Layer, UnitGranularity::Block, UnitGranularity::Stage, UnitGranularity::Network})
    if (text == to_string(g)) return g;
  throw Error("granularity '" + std::string(text) + "': expected layer, block, stage or network");
}

Unit make_unit(const Graph& g, std::vector<size_t> nodes, std::string name, std::string kind) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  Unit u;
  u.name = std::move(name);
  u.kind = std::move(kind);
  std::vector<bool> inside(g.nodes().size(), false), produced(g.values().size(), false);
  for (size_t i : nodes) {
    if (i >= g.nodes().size()) throw Error("unit '" + u.name + "': node index " + std::to_string(i) + " out of range");
    inside[i] = true;
  }
  std::set<ValueId> in_seen;
  for (size_t i : nodes) {
    const Node& n = g.nodes()[i];
    for (ValueId v : n.inputs)
      if (!produced[static_cast<size_t>(v)] && in_seen.insert(v).second) u.inputs.push_back(v);
    for (ValueId v : n.outputs) produced[static_cast<size_t>(v)] = true;
    u.weight_layers += is_weighted(n) ? 1 : 0;
  }
  std::vector<bool> read_outside(g.values().size(), false);
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (!inside[i])
      for (ValueId v : g.nodes()[i].inputs) read_outside[static_cast<size_t>(v)] = true;
  for (ValueId v : g.outputs()) read_outside[static_cast<size_t>(v)] = true;
  for (size_t i : nodes)
    for (ValueId v : g.nodes()[i].outputs)
      if (read_outside[static_cast<size_t>(v)]) u.outputs.push_back(v);
  u.nodes = std::move(nodes);
  if (u.outputs.empty()) throw Error("unit '" + u.name + "': no value of the unit is read outside it");
  return u;
}

std::vector<Unit> partition_units(const Graph& g, UnitGranularity gran) {
  if (gran == UnitGranularity::Network) return {whole_graph_unit(g)};
  const std::vector<Block> blocks = partition_blocks(g);
  std::vector<Unit> out;
  if (gran == UnitGranularity::Stage) return stage_units(g, blocks);
  for (const Block& b : blocks) {
    if (gran == UnitGranularity::Block) {
      out.push_back(make_unit(g, b.nodes, b.name, std::string(to_string(b.kind))));
      continue;
    }
    for (Unit& u : layer_units(g, b)) out.push_back(std::move(u));
  }
  return out;
}

Unit whole_graph_unit(const Graph& g) {
  std::vector<size_t> all(g.nodes().size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return make_unit(g, std::move(all), "network", "network");
}

Unit rest_of_graph_unit(const Graph& g, const Unit& u) {
  const size_t last = u.nodes.empty() ? 0 : u.nodes.back() + 1;
  std::vector<size_t> rest;
  for (size_t i = last; i < g.nodes().size(); ++i) rest.push_back(i);
  if (rest.empty()) {
    Unit r;
    r.name = u.name + ".rest";
    r.kind = "rest";
    return r;
  }
  return make_unit(g, std::move(rest), u.name + ".rest", "rest");
}

}  // namespace mqcalib
