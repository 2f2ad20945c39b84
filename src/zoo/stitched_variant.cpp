#include "zoo/stitched_variant.h"

#include <sstream>

#include "common/error.h"

namespace sparseloom::zoo {

StitchedVariant Original(const Zoo& zoo, std::size_t v) {
  StitchedVariant s;
  s.variant_of_stage.assign(static_cast<std::size_t>(zoo.num_stages), v);
  return s;
}

bool StitchedVariant::IsOriginal() const {
  for (std::size_t v : variant_of_stage) {
    if (v != variant_of_stage.front())
      return false;
  }
  return true;
}

StitchedVariant ParseStitch(const Zoo& zoo, const std::string& text) {
  std::vector<std::string> ids;
  std::stringstream in(text);
  for (std::string id; std::getline(in, id, ',');)
    ids.push_back(id);
  StitchedVariant s;
  if (ids.size() == 1) {
    s.variant_of_stage.assign(static_cast<std::size_t>(zoo.num_stages), zoo.VariantIndex(ids[0]));
    return s;
  }
  if (ids.size() != static_cast<std::size_t>(zoo.num_stages)) {
    throw UsageError("--stitch '" + text + "': expected " + std::to_string(zoo.num_stages) +
                     " comma-separated variant ids (one per stage) or a single id, got " +
                     std::to_string(ids.size()));
  }
  for (const auto& id : ids)
    s.variant_of_stage.push_back(zoo.VariantIndex(id));
  return s;
}

std::string ToString(const Zoo& zoo, const StitchedVariant& s) {
  std::string out;
  for (std::size_t v : s.variant_of_stage)
    out += (out.empty() ? "" : ",") + zoo.variants.at(v).id;
  return out;
}

StitchedVariant StitchedAt(const Zoo& zoo, std::int64_t index) {
  if (index < 0 || index >= zoo.StitchedCount()) {
    throw UsageError("stitched variant index " + std::to_string(index) + " is outside 0.." +
                     std::to_string(zoo.StitchedCount() - 1));
  }
  const auto v = static_cast<std::int64_t>(zoo.variants.size());
  StitchedVariant s;
  s.variant_of_stage.resize(static_cast<std::size_t>(zoo.num_stages));
  for (int k = zoo.num_stages - 1; k >= 0; --k) {
    s.variant_of_stage[static_cast<std::size_t>(k)] = static_cast<std::size_t>(index % v);
    index /= v;
  }
  return s;
}

std::int64_t IndexOf(const Zoo& zoo, const StitchedVariant& s) {
  std::int64_t index = 0;
  for (std::size_t v : s.variant_of_stage) {
    index = index * static_cast<std::int64_t>(zoo.variants.size()) + static_cast<std::int64_t>(v);
  }
  return index;
}

std::vector<StitchedVariant> EnumerateStitched(const Zoo& zoo) {
  std::vector<StitchedVariant> all;
  all.reserve(static_cast<std::size_t>(zoo.StitchedCount()));
  for (std::int64_t i = 0; i < zoo.StitchedCount(); ++i)
    all.push_back(StitchedAt(zoo, i));
  return all;
}

}  // namespace sparseloom::zoo
