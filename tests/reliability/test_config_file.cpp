// --config FILE (src/cli/config_file.h): special files refused by name, size bounded, values
// stored as the command line would, errors naming the file.
#include <doctest/doctest.h>

#include "cli/config_file.h"
#include "core/input_file.h"
#include "reliability/reliability_util.h"

namespace po = boost::program_options;
using namespace data_test;

namespace {
struct Opts {
  int iters = 0;
  std::string method;
  std::vector<std::string> layer_bits;
  po::options_description desc{"test"};
  Opts() {
    desc.add_options()("iters", po::value(&iters)->default_value(10), "")("method", po::value(&method), "")(
        "layer-bits", po::value(&layer_bits)->composing(), "");
  }
};
}  // namespace

TEST_CASE("--config: values are stored; the command line wins") {
  TempDir tmp;
  write_text(tmp.file("run.cfg"),
             "# a comment\niters = 2000\nmethod = adaround\nlayer-bits = fc=8\nlayer-bits = conv1=4\n");
  Opts o;
  po::variables_map vm;
  const char* argv[] = {"x", "--iters", "5"};
  po::store(po::parse_command_line(3, argv, o.desc), vm);
  mqcalib::cli::store_config_file(tmp.file("run.cfg"), o.desc, vm);
  po::notify(vm);
  CHECK(o.iters == 5);
  CHECK(o.method == "adaround");
  CHECK(o.layer_bits == std::vector<std::string>{"fc=8", "conv1=4"});
}

TEST_CASE("--config: directories, FIFOs, devices, oversize, binary and unknown keys are errors naming the file") {
  TempDir tmp;
  Opts o;
  po::variables_map vm;
  using mqcalib::cli::store_config_file;
  CHECK_ERROR_MENTIONS(store_config_file(tmp.path, o.desc, vm), "--config", tmp.path, "directory");
  reliability_test::make_fifo(tmp.file("fifo.cfg"));
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("fifo.cfg"), o.desc, vm), "--config", "fifo.cfg", "FIFO");
  CHECK_ERROR_MENTIONS(store_config_file("/dev/zero", o.desc, vm), "--config", "/dev/zero", "character device");
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("none.cfg"), o.desc, vm), "none.cfg", "does not exist");
  write_text(tmp.file("big.cfg"), std::string(static_cast<size_t>(mqcalib::cli::kMaxConfigFileBytes) + 1, '#'));
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("big.cfg"), o.desc, vm), "big.cfg", "more than the 1048576 bytes");
  write_bytes(tmp.file("bin.cfg"), {'i', 't', 'e', 'r', 's', '=', '1', 0, '\n'});
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("bin.cfg"), o.desc, vm), "bin.cfg", "NUL");
  write_text(tmp.file("long.cfg"), "iters = 1\nmethod = " + std::string(2000, 'a') + "\n");
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("long.cfg"), o.desc, vm), "long.cfg", "line 2", "longer than 1024");
  // Boost would loop forever formatting the error about this value (its placeholder is in it).
  write_text(tmp.file("token.cfg"), "iters = %value%x\n");
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("token.cfg"), o.desc, vm), "token.cfg", "line 1", "'%value%'");
  CHECK_ERROR_MENTIONS(mqcalib::cli::check_no_placeholder_token("a%canonical_option%b", "argument 3"), "argument 3",
                       "%canonical_option%");
  CHECK_NOTHROW(mqcalib::cli::check_no_placeholder_token("50% of 100%", "argument 3"));
  CHECK_NOTHROW(mqcalib::cli::check_no_placeholder_token("%%", "argument 3"));
  write_text(tmp.file("typo.cfg"), "itres = 3\n");
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("typo.cfg"), o.desc, vm), "typo.cfg", "itres");
  write_text(tmp.file("badval.cfg"), "iters = many\n");
  CHECK_ERROR_MENTIONS(store_config_file(tmp.file("badval.cfg"), o.desc, vm), "badval.cfg", "iters");
}
