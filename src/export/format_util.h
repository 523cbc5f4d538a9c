// mqcalib/src/export/format_util.h: small helpers shared by the exporters (internal).
#pragma once

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "export/quant_record.h"

namespace mqcalib {

// JSON whose floating-point numbers are float32 and whose objects keep insertion order. nlohmann
// prints a float32 with the shortest decimal that parses back to the same float (Grisu2 on float)
// and parses with strtof, so every scale, zero point and range written this way round-trips bit
// for bit through params.json, and any correct reader (Python's json + struct) gets the same float.
using FloatJson =
    nlohmann::basic_json<nlohmann::ordered_map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float float_from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// The float32 bit pattern as 8 lowercase hex digits, most significant first ("3f800000" for 1.0f):
// the big-endian byte order TensorRT's calibration cache uses.
std::string float_bits_hex(float x);

// "<what> '<tensor>' (<role>, layer '<layer>')" for error messages.
std::string describe_tensor(const TensorQuant& t);

}  // namespace mqcalib
