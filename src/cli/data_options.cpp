// mqcalib/src/cli/data_options.cpp: see data_options.h.
#include "cli/data_options.h"

#include <sstream>

#include "mqcalib/error.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

std::vector<float> parse_float_list(const std::string& text, const std::string& option) {
  std::vector<float> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    float v = 0;
    try {
      v = std::stof(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error(option + " '" + text + "': expected numbers separated by commas");
    out.push_back(v);
  }
  if (out.empty()) throw Error(option + ": empty value");
  return out;
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& option) {
  std::vector<int64_t> s;
  size_t b = 0;
  const std::string bad =
      option + " '" + text + "' is not a comma-separated list of positive integers (e.g. 1,1,28,28)";
  if (text.empty()) throw Error(bad);
  for (;;) {
    const size_t e = text.find(',', b);
    const std::string part = text.substr(b, e == std::string::npos ? std::string::npos : e - b);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 9) throw Error(bad);
    const int64_t d = std::stoll(part);
    if (d <= 0) throw Error(bad);
    s.push_back(d);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return s;
}

void PreprocessArgs::add_to(po::options_description& d) {
  d.add_options()("mean", po::value(&mean)->default_value(mean),
                  "per-channel mean after x/255 (one value, or one per channel: 0.485,0.456,0.406)")(
      "std", po::value(&std)->default_value(std),
      "per-channel std after x/255 (torchvision convention: (x/255 - mean) / std)")(
      "color", po::value(&color)->default_value(color), "image folders: gray | rgb | bgr")(
      "resize", po::value(&resize)->default_value(resize),
      "image folders: resize the shorter side to N pixels (0: keep)")(
      "center-crop", po::value(&center_crop)->default_value(center_crop),
      "image folders: square center crop of N pixels (0: none)")("layout", po::value(&layout)->default_value(layout),
                                                                 ".npy inputs: nchw | nhwc");
}

bool PreprocessArgs::any_given(const po::variables_map& vm) {
  for (const char* name : {"mean", "std", "color", "resize", "center-crop", "layout"})
    if (vm.count(name) && !vm[name].defaulted()) return true;
  return false;
}

DataOptions PreprocessArgs::to_data(const std::string& path, const std::string& labels) const {
  DataOptions d;
  d.path = path;
  d.labels = labels;
  d.mean = parse_float_list(mean, "--mean");
  d.std = parse_float_list(std, "--std");
  d.color = color;
  d.resize = resize;
  d.center_crop = center_crop;
  d.layout = layout;
  return d;
}

}  // namespace mqcalib::cli
