// bench/forward/simulated.h: the W8A8 simulation of a folded graph for bench_forward, as the pipeline
// builds it: the backend's plan (src/pipeline/quant_plan.h), weights fake-quantized with their
// scheme, every planned activation fake-quantized with min-max parameters from one FP run of the
// bench batch. Two ways to run it: OutputQuant (executor.h: fused into the producing kernels) and the
// pipeline's hook (ActivationQuantizers::hook, src/pipeline/simulation.h: a pass per value).
#pragma once

#include <string>

#include "exec/executor.h"
#include "graph/ir.h"
#include "pipeline/simulation.h"

struct SimulatedModel {
  mqcalib::Graph graph;  // weights fake-quantized
  mqcalib::OutputQuant quant;
  mqcalib::ActivationQuantizers hook_quant;
  size_t points = 0;  // activation quantization points
};

// `backend`: a backend table name (e.g. "tensorrt"). x: the calibration batch (the bench batch).
SimulatedModel simulate_w8a8(const mqcalib::Graph& folded, const mqcalib::TensorF32& x, const std::string& backend);
