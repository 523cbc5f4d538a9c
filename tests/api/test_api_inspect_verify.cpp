// mqcalib::inspect() and mqcalib::verify() (mqcalib/inspect.h, mqcalib/verify.h) through the shared
// library, as a C++ tool calls them: inspect's text and JSON agree with each other and its FP check is
// within tolerance; verify() reproduces the verify block quantize() writes for the same record and
// writes the same QDQ ONNX bytes; errors arrive as mqcalib::Error (its type exported by the library).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "api_test_files.h"
#include "mqcalib/error.h"
#include "mqcalib/inspect.h"
#include "mqcalib/verify.h"

namespace fs = std::filesystem;

namespace {

constexpr double kFpCheckRelTol = 1e-4;  // engine vs LibTorch forward, relative to max |torch| (tests/cli)

using mqcalib::testing::slurp;
std::string root() { return mqcalib::testing::source_root(); }
std::string scratch(const std::string& name) { return mqcalib::testing::scratch_dir(name); }
const std::string& kData = mqcalib::testing::kFashionMnist;
std::string model() { return root() + "/examples/zoo/resnet20.pt"; }

}  // namespace

TEST_CASE("api: inspect's text and JSON describe the same folded model; the FP check is within tolerance") {
  mqcalib::InspectOptions o;
  o.model = model();
  o.json_path = scratch("inspect") + "/inspect.json";
  const mqcalib::InspectSummary s = mqcalib::inspect(o);
  CHECK(slurp(o.json_path) == s.json);
  const nlohmann::json doc = nlohmann::json::parse(s.json);
  const int bn = doc["op_counts"].at("batch_norm").get<int>();
  CHECK(bn > 0);
  CHECK(doc["folded_bn"]["folded"].size() == static_cast<size_t>(bn));  // every BN of ResNet-20 folds
  CHECK(s.text.find("batch norm folding: " + std::to_string(bn) + " folded, 0 left\n") != std::string::npos);
  CHECK(s.text.find(" batch_norm " + std::to_string(bn) + ";") != std::string::npos);  // ops (as imported)
  int imported = 0;
  for (const auto& kv : doc["op_counts"].items()) imported += kv.value().get<int>();
  CHECK(doc["nodes"].size() == static_cast<size_t>(imported - bn));  // the folded graph: BNs gone
  CHECK(s.fp_samples == 3);
  CHECK(doc["fp_check"]["samples"] == 3);
  CHECK(s.max_rel_diff <= kFpCheckRelTol);
  CHECK(doc["fp_check"]["max_rel_diff"].get<double>() == s.max_rel_diff);

  o.model = root() + "/no/such/model.pt";
  CHECK_THROWS_WITH_AS(mqcalib::inspect(o), doctest::Contains("no/such/model.pt"), mqcalib::Error);
  o.model = model();
  o.samples = -1;
  CHECK_THROWS_WITH_AS(mqcalib::inspect(o), doctest::Contains("--samples -1"), mqcalib::Error);
}

TEST_CASE("api: verify() reproduces quantize()'s verify block and ONNX bytes for the same record") {
  mqcalib::QuantizeOptions q;
  q.model = model();
  q.calib.path = kData + "train-images-idx3-ubyte.gz";
  q.calib.mean = {0.2860f};
  q.calib.std = {0.3530f};
  q.calib_size = 64;
  q.backend = "ort";
  mqcalib::DataOptions ev = q.calib;
  ev.path = kData + "t10k-images-idx3-ubyte.gz";
  ev.labels = kData + "t10k-labels-idx1-ubyte.gz";
  q.eval = ev;
  q.eval_limit = 128;
  q.verify = true;
  q.out_dir = scratch("verify") + "/out";
  mqcalib::quantize(q);
  const nlohmann::json block = nlohmann::json::parse(slurp(q.out_dir + "/report.json")).at("verify");

  mqcalib::VerifyOptions v;
  v.model = q.model;
  v.params = q.out_dir + "/params.json";
  v.eval = ev;
  v.eval_limit = 128;
  v.onnx = scratch("verify_onnx") + "/model.qdq.onnx";
  v.report = fs::path(v.onnx).parent_path() / "report.json";
  v.dump_int = fs::path(v.onnx).parent_path() / "int.npy";
  const mqcalib::VerifySummary r = mqcalib::verify(v);
  CHECK(r.samples == 128);
  CHECK(block.at("samples") == r.samples);
  CHECK(block.at("top1_agreement").get<double>() == r.top1_agreement);
  CHECK(block.at("tensors").size() == r.tensors.size());
  CHECK(slurp(v.onnx) == slurp(q.out_dir + "/model.qdq.onnx"));
  CHECK(r.files == std::vector<std::string>{v.onnx, v.dump_int, v.report});
  CHECK(nlohmann::json::parse(slurp(v.report)).at("verify") == block);
  CHECK(fs::file_size(v.dump_int) > 128 * 10 * sizeof(float));  // 128 rows of 10 logits, and a header

  v.eval.labels.clear();
  CHECK_THROWS_WITH_AS(mqcalib::verify(v), doctest::Contains("--eval-labels"), mqcalib::Error);
}
