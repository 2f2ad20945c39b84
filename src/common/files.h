#pragma once
// What is wrong with a path a user gave as a file, in the words an error message needs ("a
// directory", "permission denied"), so that every reader says the same thing.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

namespace sparseloom {

// Nothing when `file` is a regular file this process can open for reading; otherwise what it is
// instead: "no such file", "a directory", "not a regular file", "permission denied", ...
std::optional<std::string> FileProblem(const std::filesystem::path& file);

// The reason an open or read failed, from errno: "permission denied", "no such file", ...
std::string ErrnoText(int error);

// Opens `file` for reading ("rb"); an InputError naming the file otherwise, `expected` being what
// the caller wanted ("a readable JSON file") and the got FileProblem's words. Close with fclose.
std::FILE* OpenForReading(const std::filesystem::path& file, const std::string& expected);

// "4 MiB", "1,048,577 bytes": sizes as error messages show them.
std::string ByteCount(std::uintmax_t bytes);

}  // namespace sparseloom
