// mqcalib/tests/import/equiv_util.h: helpers of the import equivalence tests (suite 'torch'):
// where the exported models are, their manifest, random inputs, the engine's forward, comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "exec/executor.h"
#include "graph/ir.h"

namespace mqcalib::test {

inline std::string env_or_throw(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw Error(std::string("test environment: ") + name + " is not set (run through meson test)");
  return v;
}

// Written by tests/import/export_models.py through the custom_target of tests/import/models/.
inline std::string models_dir() { return env_or_throw("MQCALIB_BUILD_ROOT") + "/tests/import/models"; }
inline std::string zoo_dir() { return env_or_throw("MQCALIB_SOURCE_ROOT") + "/examples/zoo"; }

struct ManifestEntry {
  std::string name, file, mode, kind;
  Shape input_shape;
  int num_bn = 0;
};

inline std::vector<ManifestEntry> read_manifest() {
  const std::string path = models_dir() + "/manifest.json";
  std::ifstream f(path);
  if (!f) throw Error("test: cannot read '" + path + "' (exported by tests/import/export_models.py)");
  nlohmann::json j = nlohmann::json::parse(f);
  std::vector<ManifestEntry> out;
  for (const auto& m : j.at("models")) {
    ManifestEntry e;
    e.name = m.at("name").get<std::string>();
    e.file = m.at("file").get<std::string>();
    e.mode = m.at("mode").get<std::string>();
    e.kind = m.at("kind").get<std::string>();
    e.input_shape = m.at("input_shape").get<Shape>();
    e.num_bn = m.at("num_bn").get<int>();
    out.push_back(std::move(e));
  }
  return out;
}

inline ManifestEntry manifest_entry(const std::string& name, const std::string& mode) {
  for (const ManifestEntry& e : read_manifest())
    if (e.name == name && e.mode == mode) return e;
  throw Error("test: model '" + name + "' (" + mode + ") is not in " + models_dir() + "/manifest.json");
}

// Standard normal values, fixed seed.
inline TensorF32 normal_tensor(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  TensorF32 t(s);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = n(rng);
  return t;
}

inline TensorF32 engine_forward(const Graph& g, const TensorF32& x) {
  Executor ex(g);
  std::vector<TensorF32> out = ex.run({x});
  if (out.empty()) throw Error("test: the imported graph has no output");
  return std::move(out[0]);
}

// max|a - b| / max|b|; shapes must agree (1e30 otherwise).
inline double max_rel_diff(const TensorF32& a, const TensorF32& b) {
  if (a.shape() != b.shape()) return 1e30;
  double d = 0.0, m = 0.0;
  for (int64_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
    m = std::max(m, std::fabs(static_cast<double>(b[i])));
  }
  return d / std::max(m, 1e-30);
}

inline double max_abs(const TensorF32& a) {
  double m = 0.0;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i])));
  return m;
}

inline int count_nodes(const Graph& g, OpKind k) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.kind == k;
  return n;
}

}  // namespace mqcalib::test
