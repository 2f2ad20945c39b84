#include "common/error.h"

#include <utility>

namespace sparseloom {
namespace {

std::string Compose(const std::string& file, const std::string& field, const std::string& expected,
                    const std::string& got) {
  std::string message = file;
  if (!field.empty())
    message += ": " + field;
  message += ": expected " + expected;
  if (!got.empty())
    message += ", got " + got;
  return message;
}

}  // namespace

InputError::InputError(std::string file, std::string field, std::string expected, std::string got)
    : Error(Compose(file, field, expected, got)),
      file_(std::move(file)),
      field_(std::move(field)),
      expected_(std::move(expected)),
      got_(std::move(got)) {}

}  // namespace sparseloom
