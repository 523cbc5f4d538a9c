// mqcalib/src/export/format_util.cpp
#include "export/format_util.h"

#include <cstdio>

namespace mqcalib {

std::string_view to_string(TensorRole role) {
  switch (role) {
    case TensorRole::Weight:
      return "weight";
    case TensorRole::Bias:
      return "bias";
    case TensorRole::Activation:
      return "activation";
  }
  return "?";
}

std::string float_bits_hex(float x) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(float_bits(x)));
  return buf;
}

std::string describe_tensor(const TensorQuant& t) {
  return std::string(to_string(t.role)) + " tensor '" + t.tensor + "' (layer '" + t.layer + "')";
}

}  // namespace mqcalib
