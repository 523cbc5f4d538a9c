// mqcalib/src/exec/conv_gemm.h: internal to src/exec. The GEMM formulation of conv2d (and of
// linear, a 1x1 convolution) behind conv2d_nchw_f32, and its epilogue (conv_epilogue.cpp).
//
// Phase planes. The batch x [N, C, H, W] is zero-padded and split by stride phase into
// sh * sw planes per channel, all samples of a (channel, phase) stacked:
//   plane(c, a, b)[(n * Hq + r) * Wq + q] = padded x[n][c][r * sh + a][q * sw + b]
// (Hq = ceil(Hp / sh), Wq = ceil(Wp / sw)). Shared padding (the GEMM's planes): in a stride-1
// dimension with pad <= dil * (kernel - 1) the grid is Hq = H + pad_h (Wq = W + pad_w): a sample's
// bottom padding rows are the next sample's top ones (a row's right padding the next row's left),
// the last sample's is the slack after the planes; fewer junk columns, the same taps. On the planes' grid m = (n * Hq +
// oh) * Wq + ow (a "wide" column: an output when oh < OH and ow < OW, junk otherwise), tap k = (c, i, j) of output m
// reads plane(c, (i dh) % sh, (j dw) % sw) at m + ((i dh) / sh) Wq + (j dw) / sw: for every k the
// taps of consecutive columns are consecutive floats, at koff[k] + m.
//   wide   the micro-kernel reads the planes in place, columns m (junk computed and dropped): used
//          when most of the grid are outputs (large maps);
//   packed per panel of consecutive outputs q = (n, oh, ow), the panel [K][nr] (rows nr + 8 apart)
//          is copied from the planes run by run (a run: columns whose taps are consecutive floats,
//          one map row), on small maps where the wide grid is much padding, or with many output
//          channels (conv_gemm.cpp's wide_min_useful).
//   positions  on sample-minor planes (below), a panel is nr consecutive samples at one output
//          position, read in place: batches of at least nr samples.
// Every output is the fma chain of gemm_kernel.h whatever the mode (a mode that skips taps on the
// padding skips zeros, conv_tap_classes.h): the mode never changes a bit.
//
// Sample-minor planes, on the unshared grid (Hq = ceil(Hp / sh), Wq = ceil(Wp / sw)):
//   plane(c, a, b)[(r * Wq + q) * N + n] = padded x[n][c][r * sh + a][q * sw + b]
// Output (oh, ow) of sample n reads tap k = (c, i, j) at koff[k] + (oh * Wq + ow) * N + n with
// koff[k] = plane index * plane + (((i dh) / sh) * Wq + (j dw) / sw) * N: consecutive samples at one
// position are consecutive floats for every tap. A panel of them is read where it lies (no packing,
// no junk column) and all its columns have the same taps inside the input, so it runs over exactly
// those (conv_tap_classes.h).
#pragma once

#include <cstdint>
#include <vector>

#include "exec/kernels.h"

namespace mqcalib::exec_detail {

// Sizes of a conv and of its input's phase planes (one kernel window per output: taps KH x KW
// at dilation, groups G of Cg input and Og output channels, K = Cg * KH * KW taps per output).
struct ConvGeom {
  int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og, K;
  Conv2dParams p;
  int64_t Hq, Wq, phases, plane;  // per-sample grid Hq x Wq, sh * sw phases, plane = N * Hq * Wq floats
  int64_t max_tap;                // largest in-plane offset of a tap
};

// x [N,C,H,W], w [O, Cg, KH, KW], y [N, O, OH, OW]; shared_padding: the grid above where it applies.
ConvGeom conv_geom(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y, bool shared_padding = false);

// koff[(c * KH + i) * KW + j] = offset of tap (i, j) of input channel c in the planes (group g's
// taps are koff[g * K ...]); sample_minor: in the sample-minor planes.
std::vector<int64_t> tap_offsets(const ConvGeom& g, bool sample_minor = false);

// The planes of the batch x (padding = pad_value), plus `slack` floats of pad_value after them that
// junk columns may read; `planes` grows as needed. Parallel over (channel, sample).
void build_planes(const ConvGeom& g, const float* x, int64_t slack, float pad_value, std::vector<float>& planes);

// The sample-minor planes of the batch x (padding 0; g on the unshared grid), plus `slack` zeros.
// Parallel over channels.
void build_planes_sample_minor(const ConvGeom& g, const float* x, int64_t slack, std::vector<float>& planes);

// The planes of input channel c alone (all samples, every phase) into out[phases * plane + slack]:
// out's layout is the channel's block of build_planes' (tap offsets relative to the channel:
// koff[k] - c * phases * plane). Serial: for tasks that consume one channel at a time.
void build_channel_planes(const ConvGeom& g, const float* x, int64_t c, float pad_value, float* out);

// Output offsets of grid columns [m0, m0 + len): dst[j] = y offset n * O * OH * OW + oh * OW + ow
// of column m0 + j's output (channel 0), -1 for a junk column or one past the grid; src[j] (when
// src is not null) = m0 + j for an output, -1 otherwise. Counted incrementally (no division per column).
void grid_columns(const ConvGeom& g, int64_t m0, int64_t len, int64_t* dst, int64_t* src = nullptr);

// The depthwise path for one output channel per input channel (conv_depthwise_cl.cpp): per sample,
// channels-last and vectorized over the channels, no junk positions.
void conv2d_depthwise_cl_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y);
// Small maps, where most of the planes' grid would be padding (less than half of it outputs).
bool depthwise_prefers_channels_last(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y);

// The depthwise path of conv2d_nchw_f32 for channel multipliers > 1 (conv_depthwise.cpp): on the same planes, each
// output channel a vector loop over the grid per tap.
void conv2d_depthwise_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y);

// The mode conv2d_gemm_nchw_f32 takes for these shapes with this CPU's micro-kernel: "wide",
// "packed", "direct" or "positions" (for tests that cover each).
const char* conv2d_gemm_mode_name(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y);

// The GEMM path of conv2d_nchw_f32 (groups >= 1; used for everything but depthwise).
void conv2d_gemm_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y);

// Epilogue of one panel: c [rows][nr] holds the sums of output channels o0.. for the panel's
// columns; column j goes to y + dst[j] + o * plane (dst[j] < 0: junk, dropped). `scratch` holds
// rows * nr floats (the gathered residual).
void conv_epilogue_panel(const ConvEpilogue& ep, float* c, int64_t rows, int64_t o0, int64_t nr, const int64_t* dst,
                         int64_t plane, float* scratch, float* y);

// The same for np panels at once, c and dst holding np such blocks: stored panel-minor (panel i's
// column j beside panel i + 1's), for the positions panels, whose consecutive panels are one
// sample's consecutive positions. `scratch` holds np * rows * nr floats.
void conv_epilogue_positions(const ConvEpilogue& ep, float* c, int64_t np, int64_t rows, int64_t o0, int64_t nr,
                             const int64_t* dst, int64_t plane, float* scratch, float* y);

// The steps after the bias on n contiguous values v, with `residual` the n matching residual values
// (ignored when ep.residual is null; must not alias v). For kernels that add the bias themselves.
void conv_epilogue_values(const ConvEpilogue& ep, float* v, const float* residual, int64_t n);

// True when the epilogue has a step after the bias.
bool has_post_bias_steps(const ConvEpilogue& ep);

}  // namespace mqcalib::exec_detail
