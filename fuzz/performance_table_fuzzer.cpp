// profile::LoadPerformanceTable on arbitrary tables, then what the planner and the CLI make of a
// table that loaded: its task profile and its Pareto front.

#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "fuzz_input.h"
#include "profile/performance_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = sparseloom::fuzz::WriteFile("performance_table.json", data, size);
  try {
    const sparseloom::profile::PerformanceTable table =
        sparseloom::profile::LoadPerformanceTable(file);
    (void)sparseloom::profile::ToTaskProfile(table);
    (void)sparseloom::profile::ParetoFront(table);
  } catch (const sparseloom::Error&) {
  }
  return 0;
}
