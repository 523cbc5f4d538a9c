// mqcalib/src/pipeline/pipeline_transforms.cpp: the QuantizationPipeline members about data-free runs
// and the DFQ weight transforms (docs/data_free.md): the data-free sample shape, the synthetic samples,
// bias correction, the report's transform summary and the provenance that records them (stage
// sequencing: pipeline.cpp).
#include <cmath>
#include <limits>

#include "core/error.h"
#include "export/npy_f32.h"
#include "pipeline/batch_providers.h"
#include "pipeline/bn_range_stage.h"
#include "pipeline/phase_timer.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

Shape QuantizationPipeline::data_free_sample_shape() const {
  if (!config_.data_free.input_shape.empty()) return config_.data_free.input_shape;
  MQCALIB_ASSERT(config_.eval.has_value(), "data-free needs --input-shape or --eval (validate)");
  return open_dataset(config_.eval->path, config_.eval->preprocess)->sample_shape();
}

void QuantizationPipeline::synthesize_samples() {
  const SynthesisOptions& so = config_.data_free.synthesis;
  if (!config_.data_free.enabled || so.samples <= 0)
    throw Error("pipeline: synthesize_samples needs --data-free --synthesize N");
  if (!unfolded_) throw Error("pipeline: the imported model is not there yet: run the load stage first");
  const Graph& unfolded = *unfolded_;
  SynthesisResult r;
  {
    PhaseTimer t(report_, "synthesize");
    r = synthesize_inputs(unfolded, sample_shape_, so, [this](int64_t b, int64_t n, int it, const SynthesisLoss& l) {
      if (config_.reconstruct_progress)
        config_.reconstruct_progress(kSynthesisUnit, static_cast<size_t>(b), static_cast<size_t>(n), it,
                                     static_cast<float>(l.bn), std::numeric_limits<float>::quiet_NaN());
    });
  }
  synthesis_settings_.clear();
  double first = 0.0, last = 0.0;
  for (size_t b = 0; b < r.final_loss.size(); ++b) {
    first += r.initial_loss[b];
    last += r.final_loss[b];
  }
  synthesis_settings_.emplace_back("synthesis_bn_loss_initial", first / static_cast<double>(r.final_loss.size()));
  synthesis_settings_.emplace_back("synthesis_bn_loss_final", last / static_cast<double>(r.final_loss.size()));
  synthesis_settings_.emplace_back("synthesis_bn_layers", static_cast<double>(r.bn_layers));
  if (!config_.data_free.save_synthetic.empty())
    write_npy_f32(config_.data_free.save_synthetic, r.images.shape(), r.images.data());
  unfolded_.reset();
  MemoryBatches images("synthetic images (ZeroQ, BN statistics of the model)");
  images.add(std::move(r.images));
  read_samples(images);
}

void QuantizationPipeline::correct_biases(const QuantState& state, Graph* corrected) {
  transforms_.bias_correction = BiasCorrectionMode::None;
  transforms_.corrections.clear();
  if (!config_.transforms.bias_correction) return;
  MQCALIB_ASSERT(corrected, "bias correction needs the copy of the prepared graph");
  Graph& g = *corrected;
  PhaseTimer t(report_, "bias_correction");
  if (samples_) {
    transforms_.bias_correction = BiasCorrectionMode::Empirical;
    transforms_.corrections = correct_biases_empirical(g, state, *samples_, config_.progress);
  } else {
    transforms_.bias_correction = BiasCorrectionMode::Analytic;
    transforms_.corrections =
        correct_biases_analytic(g, state, input_ranges(g, config_.calib.preprocess), config_.data_free.range_sigmas);
  }
}

void QuantizationPipeline::report_transforms() {
  TransformSummary& t = report_.transforms;
  t = TransformSummary{};
  if (!samples_) {
    t.activation_ranges = kBnRangeObserver;
    t.range_sigmas = config_.data_free.range_sigmas;
  }
  const EqualizeReport& e = transforms_.equalization;
  for (const EqualizedPair& p : e.pairs)
    t.equalized_pairs.push_back(p.first + " -> " + p.second + " (" + std::string(to_string(p.join)) + ")");
  t.equalization_sweeps = config_.transforms.equalize ? e.sweeps : 0;
  t.equalization_last_change = e.last_change;
  t.relu6_replaced = e.relu6_replaced;
  t.relu6_skipped = e.relu6_skipped;
  for (const AbsorbedBias& a : transforms_.absorbed) t.absorbed.push_back(a.first + " -> " + a.second);
  t.bias_correction = std::string(to_string(transforms_.bias_correction));
  for (const BiasCorrection& b : transforms_.corrections) {
    if (b.skipped.empty())
      t.bias_corrected.push_back(b.layer);
    else
      t.bias_correction_skipped.emplace_back(b.layer, b.skipped);
  }
}

Provenance QuantizationPipeline::provenance() const {
  Provenance p;
  p.tool_version = MQCALIB_VERSION;
  p.model_path = config_.model;
  p.model_sha256 = model().sha256;
  p.backend = config_.backend.name;
  p.preprocessing = config_.calib.preprocess_description;
  p.preprocess = config_.calib.recorded;
  p.layout = "NCHW " + shape_to_string(sample_shape_);
  p.seed = config_.seed;
  p.calib_samples = samples_ ? samples_->size() : 0;
  p.calib_sha256 = samples_ ? samples_->sha256() : "";
  p.skipped_layers.assign(config_.policy.skip.begin(), config_.policy.skip.end());
  p.layer_bits = config_.policy.layer_bits;
  p.layer_a_bits = config_.policy.layer_a_bits;
  p.command_line = config_.command_line;
  p.weight_rounding = config_.reconstruct.method;
  if (!samples_) {
    p.activation_ranges = kBnRangeObserver;
    p.range_sigmas = config_.data_free.range_sigmas;
  }
  if (config_.data_free.enabled && config_.data_free.synthesis.samples > 0) {
    p.synthetic_samples = config_.data_free.synthesis.samples;
    p.synthesis_seed = config_.data_free.synthesis.seed;
    p.synthesis_iterations = config_.data_free.synthesis.iterations;
  }
  if (config_.transforms.equalize) {
    p.relu6_policy = std::string(to_string(config_.transforms.equalization.relu6));
    for (const EqualizedPair& e : transforms_.equalization.pairs)
      p.equalization.push_back(
          {e.first, e.second, std::string(to_string(e.join)), std::vector<float>(e.scales.begin(), e.scales.end())});
    p.high_bias_sigmas = config_.transforms.high_bias_sigmas;
  }
  p.bias_correction = std::string(to_string(transforms_.bias_correction));
  return p;
}

}  // namespace mqcalib
