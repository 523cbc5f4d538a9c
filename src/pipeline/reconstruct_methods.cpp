// mqcalib/src/pipeline/reconstruct_methods.cpp: the method table (reconstruct.h) and the trivial method.
#include "core/error.h"
#include "pipeline/adaround_method.h"
#include "pipeline/reconstruct.h"

namespace mqcalib {

namespace {

class NearestMethod : public ReconstructionMethod {
 public:
  std::string_view name() const override { return "nearest"; }
  std::vector<UnitReport> run(const ReconstructInputs&, QuantState&) const override { return {}; }
};

}  // namespace

const std::vector<MethodInfo>& reconstruction_methods() {
  static const std::vector<MethodInfo> kMethods = {
      {"nearest", "round to nearest (plain calibration)", [] { return std::make_unique<NearestMethod>(); }},
      {"adaround", "layer-wise AdaRound on the calibration samples", [] { return std::make_unique<AdaRoundMethod>(); }},
  };
  return kMethods;
}

const MethodInfo& find_method(std::string_view name) {
  for (const MethodInfo& m : reconstruction_methods())
    if (m.name == name) return m;
  std::string known;
  for (const std::string& n : method_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("--method '" + std::string(name) + "': unknown (choices: " + known + ")");
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const MethodInfo& m : reconstruction_methods()) out.push_back(m.name);
  return out;
}

void validate(const ReconstructOptions& o) {
  find_method(o.method);
  if (o.method == "nearest") return;
  if (o.iters <= 0) throw Error("--iters must be positive, got " + std::to_string(o.iters));
  if (o.batch <= 0) throw Error("--adaround-batch must be positive, got " + std::to_string(o.batch));
  if (!(o.lambda >= 0.0f)) throw Error("--lambda must be >= 0, got " + std::to_string(o.lambda));
  if (o.cache_budget_bytes < 0) throw Error("--cache-budget must be >= 0");
}

}  // namespace mqcalib
