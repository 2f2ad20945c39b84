#pragma once
// Column-aligned plain-text tables for the terminal.

#include <ostream>
#include <string>
#include <vector>

#include "eval/format.h"

namespace sparseloom::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

using eval::Fixed;
using eval::HumanBytes;
using eval::HumanCount;
using eval::Join;

}  // namespace sparseloom::cli
