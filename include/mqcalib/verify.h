// mqcalib/include/mqcalib/verify.h: `mqcalib verify` as a library call: the float simulation recorded
// in params.json against the integer executor (the runtime's integer arithmetic, chosen by the record's
// backend) on evaluation data, per tensor and in top-1; optionally the QDQ ONNX model of the same
// record and float32 .npy dumps (inputs, both models' outputs, every tensor's codes) for an external
// runtime to be compared with.
//
//   mqcalib::VerifyOptions v;
//   v.model = "examples/zoo/resnet20.pt";
//   v.params = "out/params.json";
//   v.eval.path = ".../t10k-images-idx3-ubyte.gz"; v.eval.labels = ".../t10k-labels-idx1-ubyte.gz";
//   v.preprocess_from_record = true;
//   mqcalib::VerifySummary r = mqcalib::verify(v);  // r.tensors: max LSB difference per tensor
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mqcalib/mqcalib.h"

namespace mqcalib {

struct VerifyOptions {
  std::string model;   // the TorchScript model params.json was made for (its sha256 must match the record's)
  std::string params;  // params.json written by quantize()
  DataOptions eval;    // evaluation data; eval.labels is required
  // As EvalOptions: true takes the record's preprocessing; false: eval's must equal it, else an Error.
  bool preprocess_from_record = false;
  int64_t eval_limit = 0;  // the first N samples only (0: all)
  std::string onnx;        // also write the QDQ ONNX model of this record to this file
  // Merge {"verify": ...} into this report.json (created when absent); empty: the report.json beside
  // params, when there is one.
  std::string report;
  std::string dump_inputs, dump_sim, dump_int;  // float32 .npy of the inputs / both models' first outputs
  // Diagnosis: the integer executor's codes of every tensor for the first batch into
  // dump_codes/<tensor>.npy, and the codes as extra outputs of the onnx model.
  std::string dump_codes;
  int threads = 0;  // 0: OpenMP default; results do not depend on it
  int batch_size = 64;
  ProgressCallback progress;  // phase "verify", samples done of the total
};

struct VerifyTensorSummary {
  std::string tensor;
  std::string origin;      // where its quantizer comes from ("planned", "alias-backward", ...) or "output"
  int64_t elements = 0;    // compared, over all samples
  double max_lsb = 0;      // largest |sim - int| in LSBs of the tensor's grid
  double frac_differ = 0;  // fraction of elements whose codes differ (float outputs: by more than 1/2 LSB)
};

struct VerifySummary {
  std::string backend, requant;  // the record's backend and its requantization arithmetic
  int64_t samples = 0;
  double sim_top1 = 0, int_top1 = 0, top1_agreement = 0;  // percent
  std::vector<VerifyTensorSummary> tensors;               // graph order
  std::string first_parting;                              // first tensor with any difference ("": none)
  std::string first_over_one_lsb;                         // first differing by more than 1 LSB ("": none)
  std::vector<std::string> float_ops;                     // nodes the integer executor ran through the float path
  std::vector<std::string> float_output_convs;            // quantized convs whose output has no quantizer
  std::vector<std::string> files;                         // written (onnx, dumps, report), in the order written
};

MQCALIB_API VerifySummary verify(const VerifyOptions& options);

}  // namespace mqcalib
