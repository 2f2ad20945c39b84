#pragma once
// Numbers and lists as the reports and the terminal show them.

#include <chrono>
#include <string>
#include <vector>

namespace sparseloom::eval {

std::string Fixed(double value, int decimals);
std::string Percent(double fraction, int decimals = 1);  // 0.125: "12.5%"
std::string HumanBytes(double bytes);                    // 1.5 MiB
std::string HumanCount(double count);                    // 1.2K, 3.4M, 5.6G
std::string Join(const std::vector<std::string>& items, const std::string& separator);
std::string Num(double value);  // as an ostream writes it: 0.7, 15, 1e-05
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace sparseloom::eval
