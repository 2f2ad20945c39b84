#include "eval/format.h"

#include <cstdio>
#include <sstream>

namespace sparseloom::eval {

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string Percent(double fraction, int decimals) {
  return Fixed(100.0 * fraction, decimals) + "%";
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

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty())
      out += separator;
    out += item;
  }
  return out;
}

std::string Num(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace sparseloom::eval
