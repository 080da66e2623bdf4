#include "device.h"
#include <cctype>
#include "error.h"

namespace germ {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  const std::string prefix = "cuda:";
  if (name.size() > prefix.size() && name.size() <= prefix.size() + 3 && name.compare(0, prefix.size(), prefix) == 0) {
    int index = 0;
    for (size_t i = prefix.size(); i < name.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(name[i]))) index = -1;
      else if (index >= 0) index = index * 10 + (name[i] - '0');
    }
    if (index >= 0) return Device::cuda(index);
  }
  throw GermError(ErrorCode::Device, "unknown device '" + name + "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

}  // namespace germ
