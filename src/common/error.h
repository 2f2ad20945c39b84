#pragma once
// SparseLoom's one error style: exceptions from a small typed hierarchy. Every error a user can
// cause names the file, the field and what was expected; nothing fails silently and no function
// returns a sentinel. Catch `sparseloom::Error` at the edge (the CLI) and print `what()`.

#include <stdexcept>
#include <string>

namespace sparseloom {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file the user (or another tool) gave us is wrong: missing, unreadable or malformed.
// Message: "FILE: FIELD: expected EXPECTED, got GOT".
class InputError : public Error {
 public:
  InputError(std::string file, std::string field, std::string expected, std::string got = {});

  const std::string& file() const { return file_; }
  const std::string& field() const { return field_; }
  const std::string& expected() const { return expected_; }
  const std::string& got() const { return got_; }

 private:
  std::string file_;
  std::string field_;
  std::string expected_;
  std::string got_;
};

// The inference library failed while loading or running a stage.
class EngineError : public Error {
 public:
  using Error::Error;
};

// A request that the current state cannot serve (e.g. an unknown variant id on the command line).
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace sparseloom
