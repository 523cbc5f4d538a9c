// mqcalib/data/dataset.cpp: preprocessing options, the per-sample pipeline, batch loading and
// format dispatch.
#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <exception>

#include "core/parallel.h"
#include "data/io_util.h"

namespace mqcalib {

using data_detail::ends_with_ci;

const char* color_mode_name(Preprocess::ColorMode m) {
  switch (m) {
    case Preprocess::ColorMode::Grayscale:
      return "grayscale";
    case Preprocess::ColorMode::RGB:
      return "rgb";
    case Preprocess::ColorMode::BGR:
      return "bgr";
  }
  return "?";
}

const char* layout_name(Preprocess::Layout l) { return l == Preprocess::Layout::NCHW ? "nchw" : "nhwc"; }

namespace {
std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

Preprocess::ColorMode parse_color_mode(const std::string& s, const std::string& option) {
  const std::string l = lower(s);
  if (l == "grayscale" || l == "gray" || l == "l") return Preprocess::ColorMode::Grayscale;
  if (l == "rgb") return Preprocess::ColorMode::RGB;
  if (l == "bgr") return Preprocess::ColorMode::BGR;
  throw Error(option + ": unknown colour mode '" + s + "' (choices: grayscale, rgb, bgr)");
}

Preprocess::Layout parse_layout(const std::string& s, const std::string& option) {
  const std::string l = lower(s);
  if (l == "nchw") return Preprocess::Layout::NCHW;
  if (l == "nhwc") return Preprocess::Layout::NHWC;
  throw Error(option + ": unknown layout '" + s + "' (choices: nchw, nhwc)");
}

void validate_preprocess(const Preprocess& pp, int64_t channels, const std::string& source) {
  auto check_count = [&](const std::vector<float>& v, const char* option) {
    if (!v.empty() && v.size() != 1 && static_cast<int64_t>(v.size()) != channels)
      throw Error(std::string(option) + " has " + std::to_string(v.size()) + " values but " + source + " has " +
                  std::to_string(channels) + " channel" + (channels == 1 ? "" : "s") +
                  " (give one value, or one per channel)");
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw Error(std::string(option) + " value " + std::to_string(i) + " is not a finite number");
  };
  check_count(pp.mean, "--mean");
  check_count(pp.std, "--std");
  for (size_t i = 0; i < pp.std.size(); ++i)
    if (pp.std[i] == 0.0f)
      throw Error("--std value " + std::to_string(i) + " is 0: normalization would divide by zero (for " + source +
                  ")");
  // Bounded by what an image can use: a sample of 8192 x 8192 x 3 floats is already 805 MB.
  constexpr int kMaxSide = 8192;
  if (pp.resize < 0 || pp.resize > kMaxSide)
    throw Error("--resize must be 0 (keep size) to " + std::to_string(kMaxSide) + ", got " + std::to_string(pp.resize));
  if (pp.center_crop < 0 || pp.center_crop > kMaxSide)
    throw Error("--center-crop must be 0 (no crop) to " + std::to_string(kMaxSide) + ", got " +
                std::to_string(pp.center_crop));
}

Shape preprocessed_shape(int64_t c, int64_t h, int64_t w, const Preprocess& pp, const std::string& source) {
  if (pp.resize > 0) {
    const int64_t h0 = h, w0 = w;
    resized_hw(h, w, pp.resize, &h, &w);
    if (h * w > (int64_t{1} << 25))  // a thin image resized by its short side
      throw Error("--resize " + std::to_string(pp.resize) + " would make the " + std::to_string(h0) + "x" +
                  std::to_string(w0) + " image of " + source + " " + std::to_string(h) + "x" + std::to_string(w) +
                  " pixels, more than the 33554432 accepted");
  }
  if (pp.center_crop > 0) {
    if (pp.center_crop > h || pp.center_crop > w)
      throw Error("--center-crop " + std::to_string(pp.center_crop) + " is larger than the " + std::to_string(h) + "x" +
                  std::to_string(w) + " image" + (pp.resize > 0 ? " (after --resize)" : "") + " of " + source);
    h = w = pp.center_crop;
  }
  return Shape{c, h, w};
}

void finish_sample(std::vector<float>& raw, int64_t c, int64_t h, int64_t w, bool from_uint8, const Preprocess& pp,
                   const std::string& source, float* out) {
  if (static_cast<int64_t>(raw.size()) < c * h * w)
    throw Error("finish_sample: buffer smaller than the " + std::to_string(c) + "x" + std::to_string(h) + "x" +
                std::to_string(w) + " image of " + source);
  const Shape final_shape = preprocessed_shape(c, h, w, pp, source);
  std::vector<float> tmp;
  if (pp.resize > 0) {
    int64_t rh = 0, rw = 0;
    resized_hw(h, w, pp.resize, &rh, &rw);
    if (rh != h || rw != w) {
      tmp.resize(static_cast<size_t>(c * rh * rw));
      resize_bilinear_chw_f32(raw.data(), c, h, w, tmp.data(), rh, rw);
      raw.swap(tmp);
      h = rh;
      w = rw;
    }
  }
  if (pp.center_crop > 0 && (pp.center_crop != h || pp.center_crop != w)) {
    tmp.resize(static_cast<size_t>(c) * static_cast<size_t>(pp.center_crop) * static_cast<size_t>(pp.center_crop));
    center_crop_chw_f32(raw.data(), c, h, w, pp.center_crop, tmp.data());
    raw.swap(tmp);
    h = w = pp.center_crop;
  }
  if (final_shape != Shape{c, h, w}) throw Error("finish_sample: internal shape mismatch for " + source);
  // torchvision ToTensor: x.float().div(255); Normalize: x.sub_(mean).div_(std), float32, in this order.
  const bool scale = from_uint8 && pp.scale_to_unit;
  const int64_t hw = h * w;
  for (int64_t ch = 0; ch < c; ++ch) {
    const bool has_mean = !pp.mean.empty();
    const bool has_std = !pp.std.empty();
    const float m = has_mean ? pp.mean[pp.mean.size() == 1 ? 0 : static_cast<size_t>(ch)] : 0.0f;
    const float s = has_std ? pp.std[pp.std.size() == 1 ? 0 : static_cast<size_t>(ch)] : 1.0f;
    const float* src = raw.data() + ch * hw;
    float* dst = out + ch * hw;
    for (int64_t i = 0; i < hw; ++i) {
      float v = src[i];
      if (scale) v = v / 255.0f;
      if (has_mean) v = v - m;
      if (has_std) v = v / s;
      dst[i] = v;
    }
  }
}

TensorF32 load_batch(const Dataset& ds, const std::vector<int64_t>& indices) {
  const Shape s = ds.sample_shape();
  const int64_t per = numel(s);
  const int64_t n = static_cast<int64_t>(indices.size());
  for (int64_t i = 0; i < n; ++i)
    if (indices[static_cast<size_t>(i)] < 0 || indices[static_cast<size_t>(i)] >= ds.size())
      throw Error(ds.description() + ": sample index " + std::to_string(indices[static_cast<size_t>(i)]) +
                  " out of range (the source has " + std::to_string(ds.size()) + " samples)");
  Shape bs{n};
  bs.insert(bs.end(), s.begin(), s.end());
  TensorF32 out(bs);
  std::vector<std::string> errors(static_cast<size_t>(n));
  // One sample per chunk: each sample is written by exactly one task, so the result is the same at
  // any thread count. Exceptions must not leave the OpenMP region: collected, first one rethrown.
  parallel_for_chunks(n, 1, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      try {
        ds.load(indices[static_cast<size_t>(i)], out.data() + i * per);
      } catch (const std::exception& ex) {
        errors[static_cast<size_t>(i)] = ex.what();
        if (errors[static_cast<size_t>(i)].empty()) errors[static_cast<size_t>(i)] = "unknown error";
      }
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) throw Error(e);
  return out;
}

void check_sample_shape(const Dataset& ds, const Shape& expected) {
  const Shape s = ds.sample_shape();
  bool ok = s.size() == expected.size();
  for (size_t i = 0; ok && i < s.size(); ++i) ok = expected[i] < 0 || expected[i] == s[i];
  if (!ok)
    throw Error(ds.description() + ": samples have shape " + shape_to_string(s) + " (C, H, W after preprocessing)" +
                " but the model expects " + shape_to_string(expected) +
                "; check --color, --layout, --resize, --center-crop");
}

void check_labels(const Dataset& ds, const std::vector<int64_t>& labels, const std::string& labels_path) {
  if (static_cast<int64_t>(labels.size()) != ds.size())
    throw Error("labels file '" + labels_path + "' has " + std::to_string(labels.size()) + " labels but " +
                ds.description() + " has " + std::to_string(ds.size()) + " samples");
}

std::unique_ptr<Dataset> open_dataset(const std::string& path, const Preprocess& pp) {
  if (path.empty()) throw Error("data path is empty");
  if (data_detail::is_directory(path)) return open_image_folder(path, pp);
  (void)InputFile(path, "data file");  // names a missing file, a FIFO, a device, a socket
  if (ends_with_ci(path, ".npy")) return open_npy(path, pp);
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (ends_with_ci(name, ".gz") || name.find("idx") != std::string::npos || ends_with_ci(name, "-ubyte"))
    return open_idx_images(path, pp);
  // Sniff the magic number.
  const std::vector<uint8_t> head = data_detail::read_prefix_maybe_gz(path, "data file", 6);
  static const uint8_t kNpy[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (head.size() == 6 && std::memcmp(head.data(), kNpy, 6) == 0) return open_npy(path, pp);
  if (head.size() >= 4 && head[0] == 0 && head[1] == 0) return open_idx_images(path, pp);
  throw Error("data path '" + path +
              "': unrecognised format (expected an IDX images file, plain or .gz; a .npy file; or a directory of "
              "PNG/JPEG images)");
}

}  // namespace mqcalib
