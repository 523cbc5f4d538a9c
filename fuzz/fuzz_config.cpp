// libFuzzer target: --config files (cli/config_file.h) against an options table of the same
// value types as `mqcalib quantize` (strings, ints, int64, doubles, floats, repeatable strings,
// switches). Boost's option errors are the CLI's "bad option" exit; mqcalib::Error the others.
#include <boost/program_options.hpp>

#include "cli/config_file.h"
#include "fuzz/fuzz_util.h"

namespace po = boost::program_options;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("run.cfg", data, size);
  std::string model, method = "nearest", backend = "tensorrt";
  int w_bits = 0, iters = 2000, threads = 0;
  int64_t calib_size = 256;
  uint64_t seed = 0;
  double percentile = 99.99;
  float lambda = 0.01f;
  bool first_last = false;
  std::vector<std::string> skip, layer_bits;
  po::options_description d("fuzz");
  d.add_options()("model", po::value(&model)->required(), "")("backend", po::value(&backend), "")(
      "method", po::value(&method), "")("w-bits", po::value(&w_bits), "")("iters", po::value(&iters), "")(
      "threads", po::value(&threads), "")("calib-size", po::value(&calib_size), "")("seed", po::value(&seed), "")(
      "percentile", po::value(&percentile), "")("lambda", po::value(&lambda), "")(
      "first-last-8bit", po::bool_switch(&first_last), "")("skip", po::value(&skip)->composing(), "")(
      "layer-bits", po::value(&layer_bits)->composing(), "");
  po::variables_map vm;
  try {
    mqcalib::cli::store_config_file(path, d, vm);
    po::notify(vm);
  } catch (const mqcalib::Error&) {
  } catch (const po::error&) {
  }
  return 0;
}
