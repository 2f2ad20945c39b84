#include "cli/table.h"

#include <algorithm>

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

}  // namespace sparseloom::cli
