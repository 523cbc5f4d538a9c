// mqcalib/data/dataset.h: calibration / evaluation data sources, preprocessing and sampling.
//
// A Dataset is an indexed collection of samples that all have the same shape [C, H, W] after
// preprocessing. Sources (one format per file):
//   - data/idx.cpp          IDX image files, plain or gzip (Fashion-MNIST / MNIST ship them as .gz)
//   - data/npy.cpp          NumPy .npy, float32 or uint8, [N,C,H,W] / [N,H,W,C] / [N,H,W]
//   - data/image_folder.cpp a directory of PNG / JPEG images, sorted by file name
// Labels (IDX, .npy of ints, text) are read by data/labels.cpp.
//
// Preprocessing follows the torchvision convention (ToTensor + Normalize):
//     x_unit = x / 255          for uint8 sources when scale_to_unit (ToTensor)
//     y[c]   = (x_unit - mean[c]) / std[c]                          (Normalize)
// computed in float32 in exactly that order (true division, no contraction). float32 sources are
// taken as they are (assumed already in the range the model was trained on, usually [0, 1]) and
// only get mean/std. Resize and center crop, when asked, are applied before scaling, on the
// decoded values (see resize_shorter_bilinear_chw_f32 and center_crop_chw_f32 below).
//
// Thread safety: Dataset::load is const and may be called concurrently from several threads
// (load_batch does so); implementations keep no mutable state shared between calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace mqcalib {

struct Preprocess {
  // How image-folder samples are decoded. IDX and .npy sources keep the channels they store (IDX
  // is always one channel); `color` only applies to image folders.
  enum class ColorMode {
    Grayscale,  // one channel; colour images -> 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2, as PIL 'L')
    RGB,        // three channels R, G, B (torchvision / PIL order); gray images are replicated
    BGR,        // three channels B, G, R (OpenCV / Caffe order)
  };
  // How a 4-D .npy array is laid out. 3-D [N, H, W] arrays are one channel whatever this says.
  enum class Layout { NCHW, NHWC };

  bool scale_to_unit = true;  // x / 255 for uint8 sources (IDX, uint8 .npy, images)
  // One value (applied to every channel) or one per channel; empty means mean 0 / std 1.
  std::vector<float> mean;
  std::vector<float> std;
  ColorMode color = ColorMode::RGB;
  int resize = 0;       // > 0: shorter side resized to this many pixels (bilinear, antialiased)
  int center_crop = 0;  // > 0: square center crop of this size (after resize)
  Layout npy_layout = Layout::NCHW;
};

const char* color_mode_name(Preprocess::ColorMode m);  // "grayscale", "rgb", "bgr"
const char* layout_name(Preprocess::Layout l);         // "nchw", "nhwc"
// Parses the names above (case-insensitive); throws Error naming `option` otherwise.
Preprocess::ColorMode parse_color_mode(const std::string& s, const std::string& option = "--color");
Preprocess::Layout parse_layout(const std::string& s, const std::string& option = "--layout");

// Checks the options against a source with `channels` channels: --mean/--std counts (1 or
// `channels`), std of 0 or non-finite values, negative resize / crop. Errors name the option
// (--mean, --std, --resize, --center-crop) and `source`.
void validate_preprocess(const Preprocess& pp, int64_t channels, const std::string& source);

class Dataset {
 public:
  virtual ~Dataset() = default;

  // Number of samples.
  virtual int64_t size() const = 0;
  // Shape of one sample after preprocessing: [C, H, W].
  virtual Shape sample_shape() const = 0;
  // Writes sample `index` (0 <= index < size()), preprocessed, as C*H*W floats in CHW order.
  // Throws Error naming the file when the sample cannot be read or decoded.
  virtual void load(int64_t index, float* out) const = 0;
  // For messages: format and path, e.g. "IDX images '/x/t10k-images-idx3-ubyte.gz'".
  virtual std::string description() const = 0;

  int64_t sample_numel() const { return numel(sample_shape()); }
};

// Opens `path` choosing the format from it: a directory -> image folder; `*.npy` -> NumPy; an IDX
// file (with or without .gz, recognised by name or by its magic number) -> IDX. Validates `pp`
// against the source's channel count. Throws Error naming the path and what is wrong.
std::unique_ptr<Dataset> open_dataset(const std::string& path, const Preprocess& pp);

// Format-specific openers (also used by open_dataset).
std::unique_ptr<Dataset> open_idx_images(const std::string& path, const Preprocess& pp);
std::unique_ptr<Dataset> open_npy(const std::string& path, const Preprocess& pp);
std::unique_ptr<Dataset> open_image_folder(const std::string& path, const Preprocess& pp);

// Loads the given samples as one [N, C, H, W] tensor, in the order given. Parallel over samples
// (one sample per task); the result does not depend on the thread count. An out-of-range index or
// a failing sample throws Error (the first failing sample in index order is reported).
TensorF32 load_batch(const Dataset& ds, const std::vector<int64_t>& indices);

// n distinct indices out of [0, total), ascending. Deterministic for a seed on every platform
// (own splitmix64 generator + partial Fisher-Yates shuffle, no std:: distributions). n >= total
// returns 0..total-1; n <= 0 returns nothing.
std::vector<int64_t> sample_indices(int64_t total, int64_t n, uint64_t seed);

// splitmix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): the engine's portable RNG.
struct SplitMix64 {
  uint64_t state;
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next();
  // Uniform in [0, bound), bound > 0, without modulo bias (rejection sampling).
  uint64_t uniform(uint64_t bound);
};

// Throws Error naming the data source when its sample shape is not `expected` ([C, H, W], e.g. the
// model's input without the batch dimension). A -1 in `expected` matches any size.
void check_sample_shape(const Dataset& ds, const Shape& expected);

// Reads class labels: an IDX labels file (magic 0x00000801, plain or .gz), a .npy of integers
// (int8/16/32/64, uint8/16/32/64, little-endian, 1-D or [N, 1]), or a text file with one integer
// per line (surrounding blanks ignored; trailing empty lines allowed). Errors name the file and,
// for text, the line. Negative labels are errors.
std::vector<int64_t> load_labels(const std::string& path);

// Throws Error naming both when the label count differs from the sample count.
void check_labels(const Dataset& ds, const std::vector<int64_t>& labels, const std::string& labels_path);

// ---- image geometry (shared by every source; exposed for tests) -------------------------------

// Output size of torchvision's Resize(size) for an int size: the shorter side becomes `size`, the
// longer one int(size * long / short) (truncation, torchvision _compute_resized_output_size).
void resized_hw(int64_t h, int64_t w, int size, int64_t* out_h, int64_t* out_w);

// Resizes a [C, h, w] float image to [C, out_h, out_w] with PIL's / torchvision's antialiased
// bilinear filter (triangle kernel, support widened by the scale when downscaling; pixel centres
// at (i + 0.5) * scale). Separable: horizontal pass then vertical pass, each output a normalized
// weighted sum. Unlike PIL, values are kept in float (no rounding to uint8 between passes).
void resize_bilinear_chw_f32(const float* in, int64_t c, int64_t h, int64_t w, float* out, int64_t out_h,
                             int64_t out_w);

// torchvision CenterCrop offsets: top = round((h - crop) / 2), left = round((w - crop) / 2) with
// Python's round (half to even). Requires crop <= h and crop <= w.
int64_t center_crop_offset(int64_t size, int64_t crop);
void center_crop_chw_f32(const float* in, int64_t c, int64_t h, int64_t w, int64_t crop, float* out);

// Shape after resize and crop for a decoded [C, h, w] image; Error naming --center-crop and
// `source` when the crop is larger than the (resized) image.
Shape preprocessed_shape(int64_t c, int64_t h, int64_t w, const Preprocess& pp, const std::string& source);

// The whole per-sample pipeline: `raw` is a decoded [c, h, w] image (uint8 values as floats in
// [0, 255] when `from_uint8`, else float data), resized / cropped per pp, scaled by 1/255 when
// from_uint8 && pp.scale_to_unit, then normalized with mean/std. Writes numel(preprocessed_shape)
// floats to `out`. `raw` is used as scratch (may be modified).
void finish_sample(std::vector<float>& raw, int64_t c, int64_t h, int64_t w, bool from_uint8, const Preprocess& pp,
                   const std::string& source, float* out);

}  // namespace mqcalib
