#pragma once
// Where the test zoos built by the `build_test_zoo_*` CTest fixtures live, and copies of them to
// break on purpose.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sparseloom::testing {

inline std::filesystem::path TestZoo(const std::string& name) {
  const char* root = std::getenv("SPARSELOOM_TEST_ZOOS");
  if (root == nullptr) {
    ADD_FAILURE() << "SPARSELOOM_TEST_ZOOS is not set: run these tests through ctest";
    return {};
  }
  return std::filesystem::path(root) / name;
}

// A private copy of a test zoo whose manifest a test may edit.
class ZooCopy {
 public:
  explicit ZooCopy(const std::string& name, const std::string& tag) {
    dir_ = std::filesystem::temp_directory_path() / ("sparseloom-test-" + name + "-" + tag);
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(TestZoo(name), dir_, std::filesystem::copy_options::recursive);
    std::ifstream in(dir_ / "zoo.json");
    manifest_ = nlohmann::json::parse(in);
  }
  ~ZooCopy() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ZooCopy(const ZooCopy&) = delete;
  ZooCopy& operator=(const ZooCopy&) = delete;

  nlohmann::json& manifest() { return manifest_; }
  void Save() const { std::ofstream(dir_ / "zoo.json") << manifest_.dump(1); }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path manifest_file() const { return dir_ / "zoo.json"; }

 private:
  std::filesystem::path dir_;
  nlohmann::json manifest_;
};

}  // namespace sparseloom::testing
