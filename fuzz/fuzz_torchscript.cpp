// libFuzzer target: the TorchScript importer on mutated model files. LibTorch's loader (zip
// reader, unpickler, TorchScript deserializer) and the importer's shadow run see every mutation;
// the importer must turn each failure into mqcalib::Error. Crashes inside LibTorch itself are
// LibTorch's (fuzz/README.md says what was seen); this target shows how far it allows fuzzing.
#include "fuzz/fuzz_util.h"
#include "import/torchscript_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("model.pt", data, size);
  mqcalib::ImportOptions o;
  o.input_shape = {1, 1, 8, 8};  // the seed model's input (fuzz/make_torch_seed.py)
  fuzz::refuse_only_with_error([&] { (void)mqcalib::import_torchscript(path, o); });
  return 0;
}
