// mqcalib/examples/api/deploy_int8.cpp: what a deployment tool does with the library, without the CLI.
//
//   deploy_int8 MODEL.pt DATA_DIR OUT_DIR [BACKEND]
//
// Calibrates MODEL on 256 Fashion-MNIST training images for BACKEND (default ncnn), evaluates FP32
// and int8 top-1 on the first 1000 test images, writes params.json, report.json and the backend's
// native files into OUT_DIR, then re-runs the simulation from params.json alone (mqcalib::evaluate)
// and checks that it reproduces the same accuracy: the file is a complete record. Exit status 0 on
// success, 1 with a message on any error. Built and run as a test (examples/api/meson.build).
#include <cstdio>
#include <exception>
#include <string>

#include "mqcalib/mqcalib.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL.pt DATA_DIR OUT_DIR [BACKEND]\n", argv[0]);
    return 2;
  }
  const std::string data = std::string(argv[2]) + "/";
  try {
    mqcalib::QuantizeOptions o;
    o.model = argv[1];
    o.calib.path = data + "train-images-idx3-ubyte.gz";
    o.calib.mean = {0.2860f};  // Fashion-MNIST statistics the zoo was trained with (examples/zoo)
    o.calib.std = {0.3530f};
    o.calib_size = 256;
    o.backend = argc > 4 ? argv[4] : "ncnn";
    o.a_observer = "mse";
    mqcalib::DataOptions test = o.calib;
    test.path = data + "t10k-images-idx3-ubyte.gz";
    test.labels = data + "t10k-labels-idx1-ubyte.gz";
    o.eval = test;
    o.eval_limit = 1000;
    o.out_dir = argv[3];
    const mqcalib::QuantizeResult r = mqcalib::quantize(o);

    std::printf("backend %s: %zu quantized layers, files:", r.backend.c_str(), r.layers.size());
    for (const std::string& f : r.files) std::printf(" %s", f.c_str());
    std::printf("\nFP32 top-1 %.2f%%, int8 top-1 %.2f%% on %lld images\n", r.eval->fp_top1, r.eval->q_top1,
                static_cast<long long>(r.eval->samples));

    // A deployment tool that only keeps params.json can reproduce the simulation exactly.
    mqcalib::EvalOptions e;
    e.model = o.model;
    e.params = o.out_dir + "/params.json";
    e.eval = test;
    e.eval_limit = o.eval_limit;
    const mqcalib::EvalSummary s = mqcalib::evaluate(e);
    if (s.q_top1 != r.eval->q_top1 || s.agreement != r.eval->agreement) {
      std::fprintf(stderr, "params.json does not reproduce the simulation: %.2f%% vs %.2f%%\n", s.q_top1,
                   r.eval->q_top1);
      return 1;
    }
    std::printf("params.json reproduces it: int8 top-1 %.2f%%\n", s.q_top1);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deploy_int8: %s\n", e.what());
    return 1;
  }
}
