// mqcalib/data/resize.cpp: torchvision-like Resize (shorter side, antialiased bilinear) and
// CenterCrop on [C, H, W] float images.
#include <algorithm>
#include <cmath>
#include <vector>

#include "data/dataset.h"

namespace mqcalib {

void resized_hw(int64_t h, int64_t w, int size, int64_t* out_h, int64_t* out_w) {
  // torchvision.transforms.functional._compute_resized_output_size (size given as one int):
  //   short, long = (w, h) if w <= h else (h, w); new_long = int(size * long / short)
  if (size <= 0 || h <= 0 || w <= 0) {
    *out_h = h;
    *out_w = w;
    return;
  }
  const bool w_short = w <= h;
  const int64_t short_side = w_short ? w : h;
  const int64_t long_side = w_short ? h : w;
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(size) * static_cast<double>(long_side) /
                                                static_cast<double>(short_side));
  *out_w = w_short ? size : new_long;
  *out_h = w_short ? new_long : size;
}

namespace {

// Coefficients of one axis, as PIL's precompute_coeffs (Imaging/Resample.c) with the bilinear
// (triangle) filter, support 1: for output pixel i, centre = (i + 0.5) * scale, taps
// [xmin, xmin + n) and weights tri((x - centre + 0.5) / filterscale), normalized to sum 1.
struct AxisCoeffs {
  std::vector<int64_t> first, count;
  std::vector<double> weights;  // out_size * max_taps
  int64_t max_taps = 0;
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

AxisCoeffs axis_coeffs(int64_t in_size, int64_t out_size) {
  AxisCoeffs c;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  const double ss = 1.0 / filterscale;
  c.max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.weights.assign(static_cast<size_t>(out_size * c.max_taps), 0.0);
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    int64_t xmin = static_cast<int64_t>(center - support + 0.5);  // C cast truncates, as PIL
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    const int64_t n = std::min(xmax - xmin, c.max_taps);
    double* k = c.weights.data() + i * c.max_taps;
    double ww = 0.0;
    for (int64_t x = 0; x < n; ++x) {
      const double wgt = triangle((static_cast<double>(x + xmin) - center + 0.5) * ss);
      k[x] = wgt;
      ww += wgt;
    }
    if (ww != 0.0)
      for (int64_t x = 0; x < n; ++x) k[x] /= ww;
    c.first[static_cast<size_t>(i)] = xmin;
    c.count[static_cast<size_t>(i)] = n;
  }
  return c;
}

}  // namespace

void resize_bilinear_chw_f32(const float* in, int64_t c, int64_t h, int64_t w, float* out, int64_t out_h,
                             int64_t out_w) {
  const AxisCoeffs cx = axis_coeffs(w, out_w);
  const AxisCoeffs cy = axis_coeffs(h, out_h);
  std::vector<float> mid(static_cast<size_t>(h * out_w));  // horizontal pass result, one channel
  for (int64_t ch = 0; ch < c; ++ch) {
    const float* src = in + ch * h * w;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t xo = 0; xo < out_w; ++xo) {
        const double* k = cx.weights.data() + xo * cx.max_taps;
        const int64_t x0 = cx.first[static_cast<size_t>(xo)];
        double acc = 0.0;
        for (int64_t t = 0; t < cx.count[static_cast<size_t>(xo)]; ++t) acc += k[t] * src[y * w + x0 + t];
        mid[static_cast<size_t>(y * out_w + xo)] = static_cast<float>(acc);
      }
    float* dst = out + ch * out_h * out_w;
    for (int64_t yo = 0; yo < out_h; ++yo) {
      const double* k = cy.weights.data() + yo * cy.max_taps;
      const int64_t y0 = cy.first[static_cast<size_t>(yo)];
      for (int64_t xo = 0; xo < out_w; ++xo) {
        double acc = 0.0;
        for (int64_t t = 0; t < cy.count[static_cast<size_t>(yo)]; ++t)
          acc += k[t] * mid[static_cast<size_t>((y0 + t) * out_w + xo)];
        dst[yo * out_w + xo] = static_cast<float>(acc);
      }
    }
  }
}

int64_t center_crop_offset(int64_t size, int64_t crop) {
  // int(round((size - crop) / 2.0)) with Python's round: ties to even.
  const int64_t d = size - crop;
  if (d % 2 == 0) return d / 2;
  const int64_t k = d / 2;  // d / 2 = k + 0.5
  return (k % 2 == 0) ? k : k + 1;
}

void center_crop_chw_f32(const float* in, int64_t c, int64_t h, int64_t w, int64_t crop, float* out) {
  const int64_t top = center_crop_offset(h, crop);
  const int64_t left = center_crop_offset(w, crop);
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < crop; ++y)
      std::copy(in + ch * h * w + (top + y) * w + left, in + ch * h * w + (top + y) * w + left + crop,
                out + ch * crop * crop + y * crop);
}

}  // namespace mqcalib
