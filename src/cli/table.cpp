#include "cli/table.h"

#include <algorithm>
#include <cstdio>

namespace sparseloom::cli {

Table::Table(std::vector<std::string> header) {
  rows_.push_back(std::move(header));
}

void Table::AddRow(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  std::vector<std::size_t> width(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    std::string line;
    for (std::size_t c = 0; c < width.size(); ++c) {
      std::string cell = rows_[r][c];
      cell.resize(width[c], ' ');
      line += cell + (c + 1 < width.size() ? "  " : "");
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out << line << '\n';
    if (r == 0) {
      std::size_t total = 0;
      for (std::size_t w : width)
        total += w + 2;
      out << std::string(total > 2 ? total - 2 : 0, '-') << '\n';
    }
  }
}

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

namespace {
std::string Scaled(double value, const char* const* units, int count, double base) {
  int u = 0;
  while (value >= base && u + 1 < count) {
    value /= base;
    ++u;
  }
  return Fixed(value, u == 0 ? 0 : 1) + units[u];
}
}  // namespace

std::string HumanBytes(double bytes) {
  static const char* const kUnits[] = {" B", " KiB", " MiB", " GiB"};
  return Scaled(bytes, kUnits, 4, 1024.0);
}

std::string HumanCount(double count) {
  static const char* const kUnits[] = {"", "K", "M", "G"};
  return Scaled(count, kUnits, 4, 1000.0);
}

}  // namespace sparseloom::cli
