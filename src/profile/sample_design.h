#pragma once
// Which stitched variants and chains the profiler measures (docs/profiler.md, "Sample design").
// Accuracy: every original variant, every single-stage substitution into the reference variant
// (the features the estimator needs for every stitched variant), then stitched variants drawn
// uniformly at random (representative of what is estimated; they give the estimator its
// interactions and its expected error). Latency: (stitched variant, placement) pairs drawn at
// random, the same number per placement.

#include <cstdint>
#include <vector>

#include "profile/estimators.h"
#include "zoo/zoo.h"

namespace sparseloom::profile {

// The variant single substitutions are made into: "dense" when the zoo has it, otherwise the
// most accurate variant.
std::size_t ReferenceVariant(const zoo::Zoo& zoo);

// Originals first, then single substitutions stage by stage; no duplicates.
std::vector<std::int64_t> StructuredAccuracySample(const zoo::Zoo& zoo, std::size_t reference);

// `count` distinct stitched indices, uniformly at random from those not in `exclude` (fewer when
// fewer are left). Deterministic for a seed.
std::vector<std::int64_t> RandomStitched(const zoo::Zoo& zoo, std::int64_t count,
                                         const std::vector<std::int64_t>& exclude,
                                         std::uint64_t seed);

// Stitched variants in blocks that share all but their last stage: `blocks` prefixes
// (v_1..v_{K-1}) drawn at random, each with every last-stage variant, minus those in `exclude`.
// Prefix sharing makes a block cost about one last-stage run per point, a third of a random
// point's. Deterministic for a seed.
std::vector<std::int64_t> BlockStitched(const zoo::Zoo& zoo, std::int64_t blocks,
                                        const std::vector<std::int64_t>& exclude,
                                        std::uint64_t seed);

// `per_placement` distinct stitched variants for each of the `placements` placements.
std::vector<ChainPoint> ChainSample(const zoo::Zoo& zoo, std::int64_t placements,
                                    std::int64_t per_placement, std::uint64_t seed);

}  // namespace sparseloom::profile
