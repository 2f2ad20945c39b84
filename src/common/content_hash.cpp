#include "common/content_hash.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

#include <openssl/evp.h>

#include "common/error.h"
#include "common/files.h"

namespace sparseloom {
namespace {

struct DigestDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Streams bytes through SHA-256.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw EngineError("OpenSSL: cannot start a SHA-256 digest");
  }
  void Add(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_.get(), data, size) != 1)
      throw EngineError("OpenSSL: SHA-256 update failed");
  }
  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1)
      throw EngineError("OpenSSL: SHA-256 final failed");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (unsigned int i = 0; i < size; ++i) {
      out += kDigits[digest[i] >> 4];
      out += kDigits[digest[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> ctx_;
};

}  // namespace

std::string Sha256Hex(std::span<const char> bytes) {
  Sha256 h;
  h.Add(bytes.data(), bytes.size());
  return h.Hex();
}

std::string Sha256OfFile(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileCloser> f(OpenForReading(file, "a readable file"));
  Sha256 h;
  std::vector<char> buffer(std::size_t{1} << 20);
  while (true) {
    const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), f.get());
    if (n > 0)
      h.Add(buffer.data(), n);
    if (n < buffer.size()) {
      if (std::ferror(f.get()))
        throw InputError(file.string(), "", "a readable file", ErrnoText(errno));
      break;
    }
  }
  return h.Hex();
}

bool IsSha256Hex(const std::string& text) {
  if (text.size() != kSha256HexDigits)
    return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return true;
}

}  // namespace sparseloom
