// mqcalib/reconstruction/add_backward.h: gradient of y = a + b with a, b, y of one shape (no
// broadcasting): ga = gy, gb = gy. Pure copies, so there is no separate fast path or _ref twin.
#pragma once

#include "core/tensor.h"

namespace mqcalib {

// ga and gb may be null (input needs no gradient); neither may alias the other.
void add_backward_f32(ViewF32 gy, MutViewF32* ga, MutViewF32* gb);

}  // namespace mqcalib
