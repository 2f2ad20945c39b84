#pragma once
// A stitched variant: one original variant chosen per stage, (v_1..v_K). Stage k of v_k feeds
// stage k+1 of v_{k+1}; with V variants and K stages a zoo offers V^K of them.

#include <cstdint>
#include <string>
#include <vector>

#include "zoo/zoo.h"

namespace sparseloom::zoo {

struct StitchedVariant {
  std::vector<std::size_t> variant_of_stage;  // indices into Zoo::variants, stage 1 first

  bool IsOriginal() const;  // all stages from one variant
  bool operator==(const StitchedVariant&) const = default;
};

// "dense,us90,struct50" (one id per stage) or a single id meaning that variant whole.
StitchedVariant ParseStitch(const Zoo& zoo, const std::string& text);
std::string ToString(const Zoo& zoo, const StitchedVariant& s);

// The i-th stitched variant in mixed-radix order (stage 1 varies slowest), i < zoo.StitchedCount().
StitchedVariant StitchedAt(const Zoo& zoo, std::int64_t index);
std::int64_t IndexOf(const Zoo& zoo, const StitchedVariant& s);
// Variant v whole: every stage from v.
StitchedVariant Original(const Zoo& zoo, std::size_t v);
std::vector<StitchedVariant> EnumerateStitched(const Zoo& zoo);

}  // namespace sparseloom::zoo
