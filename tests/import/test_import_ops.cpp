// Single ops imported from small scripted/traced modules (tests/import/export_models.py) vs
// LibTorch's forward: every nonlinearity alone across its breakpoints, a mix of functional ops, and
// the errors for an unsupported op and for control flow on tensor data.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "equiv_check.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// Per element: |engine - libtorch| <= kActAbsTol + kActRelTol * |libtorch|. Both sides evaluate the
// same float32 formula up to the libm (exp, erf, tanh) of each: a few ulps.
constexpr double kActAbsTol = 1e-6;
constexpr double kActRelTol = 1e-6;

// Values across every breakpoint of the activations under test (relu 0, relu6 0/6, hardtanh -2/3,
// hardswish/hardsigmoid -3/3), on them and just either side, a regular grid over [-8, 8], and
// large magnitudes (saturation of sigmoid/tanh, overflow of exp in silu).
TensorF32 breakpoint_inputs(const Shape& shape) {
  std::vector<float> v;
  for (float b : {-3.0f, -2.0f, 0.0f, 3.0f, 6.0f})
    for (float d : {0.0f, 1e-6f, -1e-6f, 1e-3f, -1e-3f, 0.25f, -0.25f}) v.push_back(b + d);
  for (float big : {20.0f, 50.0f, 100.0f, 1e4f}) {
    v.push_back(big);
    v.push_back(-big);
  }
  const int64_t n = numel(shape);
  const int64_t grid = n - static_cast<int64_t>(v.size());
  for (int64_t i = 0; i < grid; ++i) v.push_back(-8.0f + 16.0f * static_cast<float>(i) / static_cast<float>(grid - 1));
  return TensorF32(shape, std::move(v));
}

}  // namespace

TEST_CASE("import: each nonlinearity alone vs LibTorch across its breakpoints") {
  int checked = 0;
  for (const ManifestEntry& e : read_manifest()) {
    if (e.kind != "activation") continue;
    CAPTURE(e.file);
    const std::string path = models_dir() + "/" + e.file;
    ImportOptions opt;
    opt.input_shape = e.input_shape;
    const Graph g = import_torchscript(path, opt);
    REQUIRE(g.nodes().size() == 1);
    const TensorF32 x = breakpoint_inputs(e.input_shape);
    const TensorF32 ref = LibTorchModel(path).forward(x);
    const TensorF32 out = engine_forward(g, x);
    REQUIRE(out.shape() == ref.shape());
    double worst = 0.0;
    for (int64_t i = 0; i < x.size(); ++i) {
      CAPTURE(x[i]);
      const double err = std::fabs(static_cast<double>(out[i]) - ref[i]);
      CHECK(err <= kActAbsTol + kActRelTol * std::fabs(ref[i]));
      worst = std::max(worst, err);
    }
    std::fprintf(stderr, "%-24s %-12s max abs diff vs libtorch %.2e\n", e.file.c_str(),
                 std::string(op_name(g.nodes()[0].kind)).c_str(), worst);
    ++checked;
  }
  CHECK(checked == 20);  // 10 activations, scripted and traced
}

TEST_CASE("import: functional ops (scalar add/mul, split, avg_pool2d, cat, permute, matmul, reshape, softmax)") {
  for (const char* mode : {"scripted", "traced"}) {
    const ManifestEntry e = manifest_entry("functional_mix", mode);
    check_equivalence(std::string("functional_mix ") + mode, models_dir() + "/" + e.file, e.input_shape);
  }
}

namespace {

void check_batch_literal_view(const ManifestEntry& e) {
  const std::string path = models_dir() + "/" + e.file;
  ImportOptions opt;
  opt.input_shape = e.input_shape;
  const Graph g = import_torchscript(path, opt);
  REQUIRE(count_nodes(g, OpKind::Reshape) == 1);
  for (const Node& n : g.nodes())
    if (n.kind == OpKind::Reshape) CHECK(n.attrs.dims == std::vector<int64_t>{-1, 72});
  constexpr int64_t kSamples = 3;
  const TensorF32 x = normal_tensor({kSamples, 1, 8, 8}, 5);
  const TensorF32 out = engine_forward(g, x);
  REQUIRE(out.shape() == Shape{kSamples, 72});
  const LibTorchModel ref(path);
  for (int64_t s = 0; s < kSamples; ++s) {
    TensorF32 xs({1, 1, 8, 8});
    std::copy(x.data() + s * 64, x.data() + (s + 1) * 64, xs.data());
    const TensorF32 ys = ref.forward(xs);
    TensorF32 got({1, 72});
    std::copy(out.data() + s * 72, out.data() + (s + 1) * 72, got.data());
    CHECK(max_rel_diff(got, ys) <= kLogitsRelTol);
  }
}

}  // namespace

// y.view(1, 72) at batch 1: the literal batch size is written as -1 (the canonical reshape, ir.h), so
// the engine runs any batch; each sample of a batch of 3 matches LibTorch's forward of that sample.
// Both export modes build the target list from constants (prim::ListConstruct); ts_lower_shape.cpp
// writes the literal batch size of a constant list and of a shadow-run target alike as -1.
TEST_CASE("import: a reshape holding the example's batch size as a literal runs at any batch") {
  for (const char* mode : {"traced", "scripted"}) {
    CAPTURE(mode);
    check_batch_literal_view(manifest_entry("batch_literal_view", mode));
  }
}

TEST_CASE("import: an unsupported op fails naming the op, the node and the source") {
  const std::string path = models_dir() + "/" + manifest_entry("unsupported_op", "scripted").file;
  ImportOptions opt;
  opt.input_shape = {1, 1, 8, 8};
  try {
    import_torchscript(path, opt);
    FAIL("import of a model using aten::cumsum succeeded");
  } catch (const Error& err) {
    const std::string msg = err.what();
    CAPTURE(msg);
    CHECK(msg.find("aten::cumsum") != std::string::npos);
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("export_models.py") != std::string::npos);  // the Python source location
  }
}

TEST_CASE("import: control flow on tensor data is rejected") {
  const std::string path = models_dir() + "/" + manifest_entry("data_dependent_if", "scripted").file;
  ImportOptions opt;
  opt.input_shape = {1, 1, 8, 8};
  try {
    import_torchscript(path, opt);
    FAIL("import of a model branching on tensor data succeeded");
  } catch (const Error& err) {
    const std::string msg = err.what();
    CAPTURE(msg);
    CHECK(msg.find("control flow on tensor data") != std::string::npos);
  }
}

TEST_CASE("import: recurrent layers are named as such, scripted and traced") {
  for (const char* mode : {"scripted", "traced"}) {
    CAPTURE(mode);
    const std::string path = models_dir() + "/" + manifest_entry("recurrent_lstm", mode).file;
    ImportOptions opt;
    opt.input_shape = {1, 1, 8, 8};
    try {
      import_torchscript(path, opt);
      FAIL("import of an LSTM model succeeded");
    } catch (const Error& err) {
      const std::string msg = err.what();
      CAPTURE(msg);
      CHECK(msg.find("module 'rnn' is a torch.nn.LSTM") != std::string::npos);
      CHECK(msg.find("recurrent layers are not supported") != std::string::npos);
    }
  }
}

TEST_CASE("import: files that are not TorchScript say what they are instead of LibTorch's internals") {
  const std::string dir = models_dir();
  const std::string not_zip = dir + "/not_torchscript.txt", other_zip = dir + "/not_torchscript.zip";
  {
    std::ofstream(not_zip) << "hello\n";
    // A stored (uncompressed) zip with one entry "a.txt": local header, data, central entry, end record.
    const std::string name = "a.txt", data = "hi";
    std::string z;
    auto u16 = [&](uint32_t v) { z += static_cast<char>(v & 255), z += static_cast<char>(v >> 8 & 255); };
    auto u32 = [&](uint32_t v) { u16(v & 0xffff), u16(v >> 16); };
    u32(0x04034b50), u16(10), u16(0), u16(0), u16(0), u16(0), u32(0), u32(2), u32(2), u16(5), u16(0);
    z += name + data;
    const uint32_t dir_at = static_cast<uint32_t>(z.size());
    u32(0x02014b50), u16(10), u16(10), u16(0), u16(0), u16(0), u16(0), u32(0), u32(2), u32(2), u16(5), u16(0), u16(0),
        u16(0), u16(0), u32(0), u32(0);
    z += name;
    const uint32_t dir_size = static_cast<uint32_t>(z.size()) - dir_at;
    u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(dir_size), u32(dir_at), u16(0);
    std::ofstream(other_zip, std::ios::binary) << z;
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir + "/eager_torch_save.pt", "written by torch.save"},
      {not_zip, "not a zip archive"},
      {other_zip, "not a PyTorch file"},
  };
  for (const auto& [path, expect] : cases) {
    CAPTURE(path);
    ImportOptions opt;
    opt.input_shape = {1, 1, 8, 8};
    try {
      import_torchscript(path, opt);
      FAIL("import succeeded");
    } catch (const Error& err) {
      const std::string msg = err.what();
      CAPTURE(msg);
      CHECK(msg.find("is not a TorchScript model") != std::string::npos);
      CHECK(msg.find(expect) != std::string::npos);
      CHECK(msg.find("torch.jit.script(model).save") != std::string::npos);
    }
  }
}

TEST_CASE("import: a tensor claiming more bytes than its record holds is refused before anything reads it") {
  // export_models.py cut each data/<key> record of a Linear(64, 3) to 8 bytes; the pickle still claims
  // the 3x64 weight (768 bytes) and the bias. Both loaders (the importer, the FP reference) refuse it
  // naming the tensor, its claim and what the file holds; before the check, the weight was copied from
  // past its 8-byte buffer (heap-buffer-overflow under ASan, fuzz_torchscript).
  const std::string path = models_dir() + "/truncated_records.pt";
  const auto expect_refusal = [&](const std::string& who, const std::function<void()>& load) {
    CAPTURE(who);
    try {
      load();
      FAIL("loaded");
    } catch (const Error& err) {
      const std::string msg = err.what();
      CAPTURE(msg);
      CHECK(msg.find(who + ": '" + path + "': tensor 'fc.") != std::string::npos);
      CHECK(msg.find("but the file holds 8 bytes for it") != std::string::npos);
    }
  };
  ImportOptions opt;
  opt.input_shape = {1, 1, 8, 8};
  expect_refusal("import", [&] { (void)import_torchscript(path, opt); });
  expect_refusal("libtorch", [&] { LibTorchModel m(path); });
}

// ATen sets the calling thread's OpenMP thread count to its own count the first time that thread
// runs a parallel op (the count is 1 on the project's 2-core VM when OMP_NUM_THREADS is unset), which
// made every engine kernel after a LibTorch forward single-threaded. The import boundary restores the
// engine's count. Reproduced on a fresh thread with ATen's count set to 1.
TEST_CASE("import: LibTorch calls leave the engine's OpenMP thread count alone") {
  constexpr int kEngineThreads = 2;
  const int aten_saved = libtorch_threads();
  set_libtorch_threads(1);
  const std::string path = zoo_dir() + "/resnet20.pt";
  int after_load = 0, after_forward = 0, after_import = 0, team = 0;
  std::thread worker([&] {
    omp_set_num_threads(kEngineThreads);
    const LibTorchModel ref(path);
    after_load = omp_get_max_threads();
    const TensorF32 y = ref.forward(TensorF32({4, 1, 28, 28}, 0.5f));
    after_forward = omp_get_max_threads();
    const Graph g = import_torchscript(path);
    after_import = omp_get_max_threads();
#pragma omp parallel
    {
#pragma omp single
      team = omp_get_num_threads();
    }
  });
  worker.join();
  set_libtorch_threads(aten_saved);
  CHECK(after_load == kEngineThreads);
  CHECK(after_forward == kEngineThreads);
  CHECK(after_import == kEngineThreads);
  CHECK(team == std::min(kEngineThreads, omp_get_num_procs()));
}
