// mqcalib/src/import/ts_lowering.cpp: the lowering table (ts_lowering.h), aten symbol -> function.
#include "import/ts_lowering.h"

#include <unordered_map>

namespace mqcalib::import_detail {

namespace {

namespace a = c10::aten;

std::unordered_map<c10::Symbol, Lowering> build_table() {
  constexpr InPlace kNo = InPlace::No, kYes = InPlace::Yes;
  return {
      {a::conv2d, {lower_conv2d, kNo}},
      {a::_convolution, {lower_convolution, kNo}},
      {a::convolution, {lower_convolution, kNo}},
      {a::linear, {lower_linear, kNo}},
      {a::matmul, {lower_matmul, kNo}},
      {a::mm, {lower_matmul, kNo}},
      {a::addmm, {lower_matmul, kNo}},
      {a::batch_norm, {lower_batch_norm, kNo}},
      {a::relu, {lower_relu, kNo}},
      {a::relu_, {lower_relu, kYes}},
      {a::relu6, {lower_relu6, kNo}},
      {a::relu6_, {lower_relu6, kYes}},
      {a::hardtanh, {lower_hardtanh, kNo}},
      {a::hardtanh_, {lower_hardtanh, kYes}},
      {a::silu, {lower_silu, kNo}},
      {a::silu_, {lower_silu, kYes}},
      {a::sigmoid, {lower_sigmoid, kNo}},
      {a::sigmoid_, {lower_sigmoid, kYes}},
      {a::tanh, {lower_tanh, kNo}},
      {a::tanh_, {lower_tanh, kYes}},
      {a::hardswish, {lower_hardswish, kNo}},
      {a::hardswish_, {lower_hardswish, kYes}},
      {a::hardsigmoid, {lower_hardsigmoid, kNo}},
      {a::hardsigmoid_, {lower_hardsigmoid, kYes}},
      {a::gelu, {lower_gelu, kNo}},
      {a::gelu_, {lower_gelu, kYes}},
      {a::contiguous, {lower_identity, kNo}},
      {a::clone, {lower_identity, kNo}},
      {a::detach, {lower_identity, kNo}},
      {a::dropout, {lower_dropout, kNo}},
      {a::dropout_, {lower_dropout, kYes}},
      {a::feature_dropout, {lower_dropout, kNo}},
      {a::feature_dropout_, {lower_dropout, kYes}},
      {a::alpha_dropout, {lower_dropout, kNo}},
      {a::feature_alpha_dropout, {lower_dropout, kNo}},
      {a::add, {lower_add_sub, kNo}},
      {a::add_, {lower_add_sub, kYes}},
      {a::sub, {lower_add_sub, kNo}},
      {a::sub_, {lower_add_sub, kYes}},
      {a::mul, {lower_mul_div, kNo}},
      {a::mul_, {lower_mul_div, kYes}},
      {a::div, {lower_mul_div, kNo}},
      {a::div_, {lower_mul_div, kYes}},
      {a::cat, {lower_cat, kNo}},
      {a::concat, {lower_cat, kNo}},
      {a::max_pool2d, {lower_max_pool2d, kNo}},
      {a::avg_pool2d, {lower_avg_pool2d, kNo}},
      {a::adaptive_avg_pool2d, {lower_adaptive_avg_pool2d, kNo}},
      {a::mean, {lower_mean, kNo}},
      {a::flatten, {lower_flatten, kNo}},
      {a::view, {lower_view, kNo}},
      {a::reshape, {lower_view, kNo}},
      {a::squeeze, {lower_squeeze, kNo}},
      {a::squeeze_, {lower_squeeze, kYes}},
      {a::unsqueeze, {lower_squeeze, kNo}},
      {a::unsqueeze_, {lower_squeeze, kYes}},
      {a::transpose, {lower_transpose, kNo}},
      {a::permute, {lower_permute, kNo}},
      {a::t, {lower_t, kNo}},
      {a::chunk, {lower_chunk_split, kNo}},
      {a::unsafe_chunk, {lower_chunk_split, kNo}},
      {a::split, {lower_chunk_split, kNo}},
      {a::unsafe_split, {lower_chunk_split, kNo}},
      {a::split_with_sizes, {lower_chunk_split, kNo}},
      {a::softmax, {lower_softmax, kNo}},
  };
}

}  // namespace

const Lowering* find_lowering(c10::Symbol kind) {
  static const std::unordered_map<c10::Symbol, Lowering> table = build_table();
  const auto it = table.find(kind);
  return it == table.end() ? nullptr : &it->second;
}

}  // namespace mqcalib::import_detail
