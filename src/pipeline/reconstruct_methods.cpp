// mqcalib/src/pipeline/reconstruct_methods.cpp: the method table (reconstruct.h) and the trivial method.
#include <algorithm>

#include "core/error.h"
#include "pipeline/adaround_method.h"
#include "pipeline/block_recon_method.h"
#include "reconstruction/unit.h"
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
      {"brecq", "BRECQ: rounding per unit (--granularity, block by default), then learned activation steps",
       [] { return std::make_unique<BlockReconMethod>(ReconMethod::Brecq); }},
      {"qdrop", "QDrop: rounding and activation steps jointly per unit, with random drop of activation quantization",
       [] { return std::make_unique<BlockReconMethod>(ReconMethod::QDrop); }},
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

int64_t method_cache_budget(const ReconstructOptions& o, const SampleStore& calib) {
  if (o.cache_budget_bytes < 0) return -1;
  return std::max<int64_t>(0, o.cache_budget_bytes - calib.cache().bytes_in_ram());
}

void validate(const ReconstructOptions& o) {
  find_method(o.method);
  if (o.method == "nearest") return;
  if (o.method == "adaround" && !o.granularity.empty() && o.granularity != "layer")
    throw Error(ErrorKind::Invalid, "--granularity '" + o.granularity + "': adaround reconstructs layer by layer only");
  if (o.iters <= 0) throw Error("--iters must be positive, got " + std::to_string(o.iters));
  if (o.batch <= 0) throw Error("--adaround-batch must be positive, got " + std::to_string(o.batch));
  if (!(o.lambda >= 0.0f)) throw Error("--lambda must be >= 0, got " + std::to_string(o.lambda));
  // V lives in about [-6, 6] (h(V) saturates there): an Adam step beyond 1 per iteration is a typo.
  if (!(o.round_lr > 0.0f && o.round_lr <= 1.0f))
    throw Error("--round-lr must be in (0, 1], got " + std::to_string(o.round_lr));
  if (o.cache_budget_bytes < 0) throw Error("--cache-budget must be >= 0");
  if (o.method != "brecq" && o.method != "qdrop") return;
  if (!o.granularity.empty()) parse_unit_granularity(o.granularity);
  parse_recon_loss(o.loss);
  if (o.act_iters < 0) throw Error("--act-iters must be >= 0, got " + std::to_string(o.act_iters));
  if (!(o.drop_prob > 0.0f && o.drop_prob <= 1.0f))
    throw Error("--drop-prob must be in (0, 1], got " + std::to_string(o.drop_prob));
  if (!(o.step_lr >= 0.0f)) throw Error("--step-lr must be >= 0, got " + std::to_string(o.step_lr));
}

}  // namespace mqcalib
