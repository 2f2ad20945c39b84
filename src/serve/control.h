#pragma once
// The control extension of `sparseloom serve` (docs/serving.md): SLO changes and the protocol's
// model repository extension (index, load, unload), each behind a bearer token read from a file.

#include <array>
#include <filesystem>
#include <string>

namespace httplib {
class Server;
}

namespace sparseloom::serve {

struct ServerState;

// The bearer token, kept as its SHA-256 so that the comparison takes the same time whatever the
// candidate (constant-time comparison of equal-length digests), and never printed.
class ControlToken {
 public:
  // InputError when the file is missing, unreadable or holds no token (surrounding whitespace,
  // a trailing newline included, is not part of it).
  static ControlToken FromFile(const std::filesystem::path& file);
  // True when `authorization` is "Bearer <the token>".
  bool Accepts(const std::string& authorization) const;

 private:
  std::array<unsigned char, 32> digest_{};
};

// POST /v2/repository/index, /v2/repository/models/{m}/load|unload|slo: 401 without the token,
// 403 when the server was started without a token file.
void AddControlRoutes(httplib::Server& http, ServerState& state);

}  // namespace sparseloom::serve
