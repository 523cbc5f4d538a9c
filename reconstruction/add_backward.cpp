// mqcalib/reconstruction/add_backward.cpp: y = a + b (same shapes): ga = gy, gb = gy.
#include "reconstruction/add_backward.h"

#include <algorithm>

namespace mqcalib {

namespace {

void copy_grad(const ViewF32& gy, MutViewF32* g, const char* which) {
  if (!g) return;
  if (g->shape != gy.shape)
    throw Error(std::string("add_backward: gradient ") + which + " has shape " + shape_to_string(g->shape) +
                " but gy has " + shape_to_string(gy.shape) + " (broadcasting is not supported)");
  std::copy(gy.data, gy.data + gy.size(), g->data);
}

}  // namespace

void add_backward_f32(ViewF32 gy, MutViewF32* ga, MutViewF32* gb) {
  copy_grad(gy, ga, "ga");
  copy_grad(gy, gb, "gb");
}

}  // namespace mqcalib
