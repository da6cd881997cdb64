#pragma once
// A scratch directory under /tmp, removed with everything in it at the end of the test.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace smartvm::dom0::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/smartvm-dom0-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  /// Writes `content` to `name` (creating parent directories) and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace smartvm::dom0::test
