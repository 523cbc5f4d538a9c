// mqcalib/src/import/ts_lowering.h: internal to src/import. The lowering table: for every aten symbol
// the importer lowers, a small function that writes the op's canonical IR node (graph/ir.h) through
// the Importer's emit(), reading operands with its readers (which fail naming the node, the op and
// the source line). A symbol without an entry is an unsupported op.
#pragma once

#include "import/ts_importer.h"

namespace mqcalib::import_detail {

using LowerFn = void (*)(Importer&, tj::Node*);

// In-place variants (relu_, add_...): after lowering, later reads of operand 0 see the result.
enum class InPlace { No, Yes };

struct Lowering {
  LowerFn fn;
  InPlace in_place;
};

// The entry for `kind`, or null when the op is not lowered.
const Lowering* find_lowering(c10::Symbol kind);

// ts_lower_layers.cpp
void lower_conv2d(Importer&, tj::Node*);
void lower_convolution(Importer&, tj::Node*);  // aten::_convolution / aten::convolution
void lower_linear(Importer&, tj::Node*);
void lower_matmul(Importer&, tj::Node*);  // matmul / mm / addmm with a parameter
void lower_batch_norm(Importer&, tj::Node*);
// ts_lower_pointwise.cpp
void lower_relu(Importer&, tj::Node*);
void lower_relu6(Importer&, tj::Node*);
void lower_hardtanh(Importer&, tj::Node*);
void lower_silu(Importer&, tj::Node*);
void lower_sigmoid(Importer&, tj::Node*);
void lower_tanh(Importer&, tj::Node*);
void lower_hardswish(Importer&, tj::Node*);
void lower_hardsigmoid(Importer&, tj::Node*);
void lower_gelu(Importer&, tj::Node*);
void lower_identity(Importer&, tj::Node*);  // contiguous, clone, detach
void lower_dropout(Importer&, tj::Node*);   // dropout family in eval mode
void lower_add_sub(Importer&, tj::Node*);
void lower_mul_div(Importer&, tj::Node*);
// ts_lower_shape.cpp
void lower_cat(Importer&, tj::Node*);
void lower_max_pool2d(Importer&, tj::Node*);
void lower_avg_pool2d(Importer&, tj::Node*);
void lower_adaptive_avg_pool2d(Importer&, tj::Node*);
void lower_mean(Importer&, tj::Node*);
void lower_flatten(Importer&, tj::Node*);
void lower_view(Importer&, tj::Node*);     // view / reshape (a target shape)
void lower_squeeze(Importer&, tj::Node*);  // squeeze / unsqueeze (the shadow output's shape)
void lower_transpose(Importer&, tj::Node*);
void lower_permute(Importer&, tj::Node*);
void lower_t(Importer&, tj::Node*);
void lower_chunk_split(Importer&, tj::Node*);
void lower_softmax(Importer&, tj::Node*);

}  // namespace mqcalib::import_detail
