#include "core/tensor.h"

namespace mqcalib {

std::string shape_to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

void TensorF32::reshape(Shape s) {
  if (numel(s) != size())
    throw Error("TensorF32::reshape: cannot view " + shape_to_string(shape_) + " as " + shape_to_string(s));
  shape_ = std::move(s);
}

}  // namespace mqcalib
