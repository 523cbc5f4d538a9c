#include <algorithm>

#include "calibrators/observer.h"
#include "core/error.h"

namespace mqcalib {

ObserverRegistry& ObserverRegistry::instance() {
  static ObserverRegistry registry = [] {
    ObserverRegistry r;
#define MQCALIB_ADD_OBSERVER(id) r.add(observer_info_##id());
    MQCALIB_BUILTIN_OBSERVERS(MQCALIB_ADD_OBSERVER)
#undef MQCALIB_ADD_OBSERVER
    return r;
  }();
  return registry;
}

void ObserverRegistry::add(ObserverInfo info) {
  for (const ObserverInfo& i : infos_)
    if (i.name == info.name) throw Error("observer registry: '" + info.name + "' registered twice");
  infos_.push_back(std::move(info));
}

const ObserverInfo& ObserverRegistry::info(std::string_view name) const {
  for (const ObserverInfo& i : infos_)
    if (i.name == name) return i;
  std::string choices;
  for (const std::string& n : names()) choices += (choices.empty() ? "" : ", ") + n;
  throw Error("unknown observer '" + std::string(name) + "' (choices: " + choices + ")");
}

std::unique_ptr<Observer> ObserverRegistry::create(std::string_view name, const ObserverOptions& options) const {
  const ObserverInfo& i = info(name);
  if (options.granularity == Granularity::PerChannel && !i.per_channel)
    throw Error("observer '" + i.name + "' has no per-channel mode (per-channel observers: minmax, mse, percentile)");
  return i.create(options);
}

std::vector<std::string> ObserverRegistry::names() const {
  std::vector<std::string> out;
  for (const ObserverInfo& i : infos_) out.push_back(i.name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mqcalib
