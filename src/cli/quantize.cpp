// mqcalib/src/cli/quantize.cpp: `mqcalib quantize`, a thin layer over mqcalib::quantize(): parses the
// options (quantize_args.h), runs, prints the run's tables.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <map>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/progress.h"
#include "cli/quantize_args.h"
#include "mqcalib/mqcalib.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

std::string db(double v) {
  char b[32];
  if (std::isnan(v)) return "-";  // not measured (data-free: no samples)
  if (!std::isfinite(v)) return "exact";
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// Progress on stderr: the phase bar, and the reconstruction's (or synthesis') loss as its detail.
void connect_progress(QuantizeOptions& o, Progress& progress) {
  o.progress = [&progress](const std::string& p, int64_t d, int64_t t) { progress(p, d, t); };
  o.adaround_detail = [&progress](const std::string&, int, double loss, double soft) {
    char b[64];
    if (std::isnan(soft))  // the synthesis: its BN-statistics loss
      std::snprintf(b, sizeof b, "BN loss %.4g", loss);
    else
      std::snprintf(b, sizeof b, "loss %.4g, soft %.1f%%", loss, 100.0 * soft);
    progress.set_detail(b);
  };
}

void print_header(const QuantizeOptions& o, const QuantizeResult& r) {
  const std::string source =
      o.data_free ? (o.synthesize > 0 ? "data-free (" + std::to_string(o.synthesize) + " synthetic images)"
                                      : std::string("data-free (BN statistics)"))
                  : "calib " + std::to_string(o.calib_size) + " samples";
  std::printf("\nmqcalib %s  model %s  backend %s  observers w=%s a=%s  %s\n", version().c_str(), o.model.c_str(),
              r.backend.c_str(), o.w_observer.c_str(), o.data_free && o.synthesize == 0 ? "bn_stats" : o.a_observer.c_str(),
              source.c_str());  // synthetic images are observed like real ones
}

void print_layers(const QuantizeResult& r) {
  std::printf("\n%-28s %6s %6s %14s %14s\n", "layer", "w-bits", "a-bits", "weight SQNR dB", "input SQNR dB");
  for (const LayerSummary& l : r.layers)
    std::printf("%-28s %6d %6d %14s %14s\n", l.layer.c_str(), l.w_bits, l.a_bits, db(l.weight_sqnr_db).c_str(),
                db(l.input_sqnr_db).c_str());
}

// One line per finding, the advice once per kind (a model often has many of one kind).
void print_outliers(const QuantizeResult& r) {
  if (r.outliers.empty()) return;
  std::printf("\nOutlier findings (%zu):\n", r.outliers.size());
  std::map<std::string, std::string> advice;
  for (const OutlierSummary& f : r.outliers) {
    std::printf("  %-28s [%s] %s\n", f.layer.c_str(), f.kind.c_str(), f.explanation.c_str());
    advice.emplace(f.kind, f.advice);
  }
  for (const auto& [kind, text] : advice) std::printf("  -> %s: %s\n", kind.c_str(), text.c_str());
}

void print_reconstruction(const std::string& method, const QuantizeResult& r) {
  if (r.reconstruction.empty()) return;
  std::printf("\n%-28s %5s %14s %14s %8s %8s\n", (method + " unit").c_str(), "bits", "loss before", "loss after",
              "soft", "seconds");
  for (const ReconstructionSummary& l : r.reconstruction)
    std::printf("%-28s %5d %14.4g %14.4g %7.1f%% %8.1f\n", l.layer.c_str(), l.bits, l.loss_nearest, l.loss_adaround,
                100.0 * l.soft_fraction, l.seconds);
}

void print_eval_and_files(const std::string& out_dir, const QuantizeResult& r) {
  if (r.eval) {
    std::printf("\n%-10s %10s %12s %8s %10s\n", "samples", "FP32 top-1", "quant top-1", "drop", "agreement");
    std::printf("%-10lld %9.2f%% %11.2f%% %8.2f %9.2f%%\n", static_cast<long long>(r.eval->samples), r.eval->fp_top1,
                r.eval->q_top1, r.eval->fp_top1 - r.eval->q_top1, r.eval->agreement);
    if (r.eval->fp_top1_op_changes >= 0)
      std::printf("FP32 top-1 with relu6 -> relu (equalization's op changes alone): %.2f%%\n",
                  r.eval->fp_top1_op_changes);
  }
  if (r.files.empty()) return;
  std::printf("\nwrote %s/: ", out_dir.c_str());
  for (size_t i = 0; i < r.files.size(); ++i) std::printf("%s%s", i ? ", " : "", r.files[i].c_str());
  std::printf("\n");
}

}  // namespace

int run_quantize(const std::vector<std::string>& args) {
  QuantizeArgs a;
  const po::options_description all = a.describe();
  po::variables_map vm;
  if (!parse_command_line(args, all, vm)) return 0;
  if (vm.count("config")) store_config_file(vm["config"].as<std::string>(), all, vm);
  // --calib is required unless --data-free: a usage error like the other required options.
  if (!vm["data-free"].as<bool>() && !vm.count("calib")) throw po::required_option("--calib");
  po::notify(vm);
  a.finish(args);

  Progress progress(a.quiet);
  connect_progress(a.o, progress);
  const QuantizeResult r = quantize(a.o);
  progress.finish();

  print_header(a.o, r);
  print_layers(r);
  print_outliers(r);
  for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
  print_reconstruction(a.o.method, r);
  print_diagnose_results(r);
  print_eval_and_files(a.o.out_dir, r);
  return 0;
}

}  // namespace mqcalib::cli
