// mqcalib/src/cli/commands.cpp: the table of subcommands (add one line per new command file).
#include "cli/commands.h"

namespace mqcalib::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"inspect", "graph summary, BN folding, blocks, weight statistics and an FP check against LibTorch",
       run_inspect},
      {"quantize", "calibrate a model for a backend on real data, evaluate it, write params.json and native files",
       run_quantize},
      {"eval", "re-run the simulation recorded in params.json and report FP and quantized top-1", run_eval},
      {"verify", "the simulation in params.json against the integer executor; optionally the QDQ ONNX model",
       run_verify},
  };
  return table;
}

}  // namespace mqcalib::cli
