// A device name: "cpu" or "cuda:N".
#pragma once
#include <string>

namespace germ {

struct Device {
  enum class Kind { Cpu, Cuda } kind = Kind::Cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i) { return {Kind::Cuda, i}; }
  bool is_cuda() const { return kind == Kind::Cuda; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }
};

// Accepts "cpu", "cuda" (device 0) and "cuda:N"; throws ERR_DEVICE otherwise.
Device parse_device(const std::string& name);

}  // namespace germ
