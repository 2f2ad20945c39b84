#pragma once
// The wall-clock serving tests also run under the sanitizers (scripts/sanitize.sh) for the races
// and memory errors those find; there, on a loaded machine, a thread can stall for a few hundred
// milliseconds, so assertions about *when* something happened (a fault landing in a given phase,
// a request starting inside a planning window) are checked in the plain build only. What must
// hold however slow the run (every request accounted for, none lost, the final routes) is checked
// in both.

namespace sparseloom::testing {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
inline constexpr bool kWallClockTimingChecked = false;
#else
inline constexpr bool kWallClockTimingChecked = true;
#endif

}  // namespace sparseloom::testing
