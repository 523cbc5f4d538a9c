// mqcalib/src/pipeline/bit_allocation.cpp: see bit_allocation.h.
#include "pipeline/bit_allocation.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "core/error.h"

namespace mqcalib {

namespace {

void check_layers(const std::vector<AllocLayer>& layers) {
  for (const AllocLayer& l : layers) {
    if (l.options.empty()) throw Error("bit allocation: layer '" + l.layer + "' has no bit option");
    if (l.params < 0) throw Error("bit allocation: layer '" + l.layer + "' has a negative size");
  }
}

// A partial choice over the first layers: its resources, cost, and how it was reached.
struct State {
  int64_t w = 0, a = 0;
  double cost = 0;
  int64_t parent = -1;  // index into the previous frontier
  size_t option = 0;
};

// Keeps the states no other state dominates (<= in w, a and cost, one of them strictly or an earlier
// index on full ties). Sorted by (w, a, cost): a state is dominated iff a kept state with a' <= a has
// cost' <= cost (every kept state has w' <= w). Prefix minima over the distinct a values.
std::vector<State> pareto(std::vector<State> s) {
  std::stable_sort(s.begin(), s.end(), [](const State& x, const State& y) {
    if (x.w != y.w) return x.w < y.w;
    if (x.a != y.a) return x.a < y.a;
    return x.cost < y.cost;
  });
  std::vector<int64_t> as;
  for (const State& x : s) as.push_back(x.a);
  std::sort(as.begin(), as.end());
  as.erase(std::unique(as.begin(), as.end()), as.end());
  // best[k]: the lowest cost kept so far among states whose a is as[k]; prefix minimum by a scan.
  std::vector<double> best(as.size(), std::numeric_limits<double>::infinity());
  std::vector<State> kept;
  for (const State& x : s) {
    const size_t k = static_cast<size_t>(std::lower_bound(as.begin(), as.end(), x.a) - as.begin());
    double m = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j <= k; ++j) m = std::min(m, best[j]);
    if (m <= x.cost) continue;
    kept.push_back(x);
    best[k] = std::min(best[k], x.cost);
  }
  return kept;
}

}  // namespace

Allocation allocate_bits(const std::vector<AllocLayer>& layers, int64_t budget_w, int64_t budget_a) {
  check_layers(layers);
  // Without an activation budget, activation bits constrain nothing: left out of the dominance test.
  const bool a_counts = budget_a != kNoBudget;
  std::vector<std::vector<State>> frontiers;
  std::vector<State> cur{State{}};
  Allocation out;
  for (const AllocLayer& l : layers) {
    std::vector<State> next;
    for (size_t p = 0; p < cur.size(); ++p)
      for (size_t o = 0; o < l.options.size(); ++o) {
        const AllocOption& opt = l.options[o];
        State s{cur[p].w + l.params * opt.w_bits, cur[p].a + (a_counts ? opt.a_bits : 0), cur[p].cost + opt.cost,
                static_cast<int64_t>(p), o};
        if (s.w <= budget_w && s.a <= budget_a) next.push_back(s);
      }
    if (next.empty()) return out;  // infeasible: even the smallest options exceed the budget
    frontiers.push_back(std::move(cur));
    cur = pareto(std::move(next));
    out.largest_frontier = std::max(out.largest_frontier, cur.size());
  }
  frontiers.push_back(cur);
  size_t best = 0;
  for (size_t i = 1; i < cur.size(); ++i)
    if (cur[i].cost < cur[best].cost) best = i;
  out.feasible = true;
  out.objective = cur[best].cost;
  out.w_bits = cur[best].w;
  out.choice.assign(layers.size(), 0);
  int64_t idx = static_cast<int64_t>(best);
  for (size_t l = layers.size(); l-- > 0;) {
    const State& s = frontiers[l + 1][static_cast<size_t>(idx)];
    out.choice[l] = s.option;
    idx = s.parent;
  }
  for (size_t l = 0; l < layers.size(); ++l) out.a_bits += layers[l].options[out.choice[l]].a_bits;
  return out;
}

Allocation allocate_bits_ref(const std::vector<AllocLayer>& layers, int64_t budget_w, int64_t budget_a) {
  check_layers(layers);
  double combos = 1;
  for (const AllocLayer& l : layers) combos *= static_cast<double>(l.options.size());
  if (combos >= static_cast<double>(1 << 24))
    throw Error("allocate_bits_ref: " + std::to_string(combos) + " combinations is too many to enumerate");
  Allocation out;
  std::vector<size_t> c(layers.size(), 0);
  for (;;) {
    int64_t w = 0, a = 0;
    double cost = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      w += layers[l].params * layers[l].options[c[l]].w_bits;
      a += layers[l].options[c[l]].a_bits;
      cost += layers[l].options[c[l]].cost;
    }
    if (w <= budget_w && a <= budget_a && (!out.feasible || cost < out.objective)) {
      out = Allocation{true, c, cost, w, a, 0};
    }
    size_t l = 0;
    while (l < layers.size() && ++c[l] == layers[l].options.size()) c[l++] = 0;
    if (l == layers.size()) break;
  }
  return out;
}

int64_t parse_bits_budget(const std::string& text, int64_t weight_elements) {
  const std::string what = "--bits-budget '" + text + "'";
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v) || !(v > 0))
    throw Error(what + ": expected a positive number of average bits (e.g. 3) or a size (e.g. 70KB)");
  const std::string unit(end);
  static const std::map<std::string, double> kBytes = {
      {"B", 1}, {"KB", 1e3}, {"KiB", 1024.0}, {"MB", 1e6}, {"MiB", 1048576.0}};
  if (unit.empty()) {
    if (v > 32) throw Error(what + ": an average above 32 bits; a size needs a unit (B, KB, KiB, MB, MiB)");
    return static_cast<int64_t>(std::floor(v * static_cast<double>(weight_elements)));
  }
  const auto it = kBytes.find(unit);
  if (it == kBytes.end()) throw Error(what + ": unknown unit '" + unit + "' (B, KB, KiB, MB, MiB)");
  return static_cast<int64_t>(std::floor(v * it->second * 8.0));
}

std::vector<int> parse_bits_set(const std::string& text, const std::string& option) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    char* end = nullptr;
    const long b = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || b < 2 || b > 16)
      throw Error(option + " '" + text + "': expected bit widths in 2..16 separated by commas, e.g. 2,4,8");
    out.push_back(static_cast<int>(b));
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mqcalib
