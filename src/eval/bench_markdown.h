#pragma once
// The parts of docs/results.md (eval/bench_report.h), one writer each, and the paper's figures
// they compare with.

#include <ostream>
#include <string>

#include "eval/bench_report.h"

namespace sparseloom::eval {

// The paper's figures (arXiv 2603.09642) and the targets issue #7 states against them.
inline constexpr double kPaperWorstReduction =
    0.74;  // violation rate, vs the worst baseline ("up to")
inline constexpr double kPaperAvpReduction = 0.25;     // vs AV-P (at least)
inline constexpr double kPaperThroughputRatio = 2.31;  // vs SV-AO-NP ("up to")
inline constexpr double kPaperMemorySaving =
    0.28;  // vs preloading everything, equal violation rate
inline constexpr double kPaperExhaustiveMin = 468.0;  // ten variants, exhaustive profiling
inline constexpr double kPaperProfilingMin = 5.0;     // with estimators ("under 5 min")
inline constexpr double kPaperProfilingReduction = 0.99;

// "Against the paper": every target with a verdict per platform, and why each miss happened.
void WritePaperComparison(std::ostream& md, const BenchReport& report);
// (e)'s comparison of the stage cache policies (bench_memory.cpp).
void WriteCachePolicies(std::ostream& md, const BenchReport& report);
// The platforms, then sections (a) to (f) and how to read them.
void WriteComparisonSections(std::ostream& md, const BenchReport& report,
                             const std::string& plots_dir);

}  // namespace sparseloom::eval
