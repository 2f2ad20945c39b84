#pragma once
// SHA-256 content hashes (OpenSSL's libcrypto), as a zoo manifest records them for its stage files
// and tensor sets: 64 lower-case hex digits. A file is hashed as it is streamed, in 1 MiB reads.

#include <filesystem>
#include <span>
#include <string>

namespace sparseloom {

inline constexpr std::size_t kSha256HexDigits = 64;

std::string Sha256Hex(std::span<const char> bytes);

// The file's SHA-256; an InputError naming the file when it cannot be read (ErrnoText's words).
std::string Sha256OfFile(const std::filesystem::path& file);

// Whether `text` is written like a SHA-256: 64 lower-case hex digits.
bool IsSha256Hex(const std::string& text);

}  // namespace sparseloom
