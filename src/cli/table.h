#pragma once
// Column-aligned plain-text tables for the terminal.

#include <ostream>
#include <string>
#include <vector>

namespace sparseloom::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string Fixed(double value, int decimals);
std::string HumanBytes(double bytes);
std::string HumanCount(double count);  // 1.2K, 3.4M, 5.6G

}  // namespace sparseloom::cli
