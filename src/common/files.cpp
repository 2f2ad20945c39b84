#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>
#include <cctype>
#include <cerrno>
#include <system_error>

#include "common/error.h"

namespace sparseloom {

std::string ErrnoText(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied";
    case ENOENT:
      return "no such file";
    case EISDIR:
      return "a directory";
    default:
      break;
  }
  std::string text = std::generic_category().message(error);
  if (!text.empty())
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::optional<std::string> FileProblem(const std::filesystem::path& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (status.type() == std::filesystem::file_type::not_found)
    return "no such file";
  if (ec)
    return ErrnoText(ec.value());
  if (status.type() == std::filesystem::file_type::directory)
    return "a directory";
  if (status.type() != std::filesystem::file_type::regular)
    return "not a regular file";
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ErrnoText(errno);
  ::close(fd);
  return std::nullopt;
}

std::FILE* OpenForReading(const std::filesystem::path& file, const std::string& expected) {
  if (const auto problem = FileProblem(file))
    throw InputError(file.string(), "", expected, *problem);
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr)
    throw InputError(file.string(), "", expected, ErrnoText(errno));
  return f;
}

std::string ByteCount(std::uintmax_t bytes) {
  constexpr std::uintmax_t kMiB = 1024 * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0)
    return std::to_string(bytes / kMiB) + " MiB";
  std::string digits = std::to_string(bytes);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out + " bytes";
}

}  // namespace sparseloom
