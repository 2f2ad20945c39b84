#pragma once
// What every fuzz target shares: the parsers read files, so each input is written to a file in a
// private folder first; a sparseloom::Error is the expected way to reject an input, anything else
// (another exception, a crash, a sanitizer report, a hang) is a bug.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sparseloom::fuzz {

// This process's folder, made once and removed at exit.
inline const std::filesystem::path& Folder() {
  static const std::filesystem::path folder = [] {
    auto dir =
        std::filesystem::temp_directory_path() / ("sparseloom-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(Folder(), ignored);
    });
    return dir;
  }();
  return folder;
}

inline std::filesystem::path WriteFile(const std::string& name, const std::uint8_t* data,
                                       std::size_t size) {
  const std::filesystem::path path = Folder() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

inline std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
  return WriteFile(name, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace sparseloom::fuzz
