#pragma once
// smartvm-sched-bench: the guest's "RESULT par ..." line (guests/README.md).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "SchedBenchTypes.h"

namespace smartvm::schedbench {

class ResultLine {
 public:
  /// The first "RESULT par" line of a console, or nullopt.
  static std::optional<ResultLine> find(const std::string& console);
  /// Every "TASK par" line (one per parallel task), in console order.
  static std::vector<ResultLine> findTasks(const std::string& console);

  /// The line as printed.
  const std::string& text() const { return text_; }
  bool has(const std::string& key) const { return fields_.count(key) != 0; }
  std::string str(const std::string& key) const;
  /// A number field; throws std::runtime_error naming the key when absent or not a number.
  uint64_t num(const std::string& key) const;
  /// Fills the sample's guest fields (value includes nbody's checksum_bits).
  void fill(VmSample& vm) const;
  /// value= with nbody's checksum_bits, as the host reference spells it.
  std::string value() const;

 private:
  static std::optional<ResultLine> parse(const std::string& console, size_t at, size_t headSize);
  std::string text_;
  std::map<std::string, std::string> fields_;
};

}  // namespace smartvm::schedbench
