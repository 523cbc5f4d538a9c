// The CLI's list parsers (src/cli/data_options.h): shapes and float lists, errors naming the option.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "cli/data_options.h"

using namespace mqcalib;
using namespace mqcalib::cli;

TEST_CASE("cli args: parse_shape accepts positive integer lists and names the option on errors") {
  CHECK(parse_shape("1,1,28,28", "--input-shape") == std::vector<int64_t>{1, 1, 28, 28});
  CHECK(parse_shape("7", "--input-shape") == std::vector<int64_t>{7});
  for (const char* bad : {"", "1,,2", "1,x,3", "1,-1", "0,3", "1, 2", "1,2,", "1234567890"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_shape(bad, "--input-shape"), doctest::Contains("--input-shape"), Error);
  }
}

TEST_CASE("cli args: parse_float_list reads comma-separated numbers and names the option on errors") {
  CHECK(parse_float_list("0.5,-2,3e-1", "--mean") == std::vector<float>{0.5f, -2.0f, 0.3f});
  for (const char* bad : {"", "1,,2", "0.5x", "a"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_float_list(bad, "--mean"), doctest::Contains("--mean"), Error);
  }
}
