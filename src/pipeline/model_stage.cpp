// mqcalib/src/pipeline/model_stage.cpp: see model_stage.h.
#include "pipeline/model_stage.h"

#include <filesystem>

#include "core/error.h"
#include "export/sha256.h"
#include "import/torchscript_import.h"

namespace mqcalib {

LoadedModel load_model(const std::string& path, const Shape& sample_shape) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("--model '" + path + "': is a folder, not a model file");
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("--model '" + path + "': no such file");
  LoadedModel m;
  m.path = path;
  m.sha256 = sha256_of_file(path);
  ImportOptions io;
  io.input_shape = {1};
  io.input_shape.insert(io.input_shape.end(), sample_shape.begin(), sample_shape.end());
  m.graph = import_torchscript(path, io);
  return m;
}

FoldedModel fold_model(LoadedModel model) {
  FoldedModel f;
  f.path = std::move(model.path);
  f.sha256 = std::move(model.sha256);
  f.graph = std::move(model.graph);
  f.folds = fold_batchnorm(f.graph);
  f.weight_stats = weight_stats(f.graph);
  return f;
}

}  // namespace mqcalib
