#pragma once
// The processors a performance table is measured on: on this host, CPU core sets, each with its
// own thread count (engine::ProcessorConfig). Part of the table's key: another setup is another
// table.

#include <string>
#include <vector>

#include "engine/engine.h"

namespace sparseloom::profile {

using ProcessorSetup = std::vector<engine::ProcessorConfig>;

// One processor per available core (`cpu0` on core 0 with 1 thread, `cpu1` on core 1, ...), at
// most `max_processors`.
ProcessorSetup DefaultProcessorSetup(int max_processors = 2);

// Either a list "NAME:CORES:THREADS,..." where CORES is "0", "0+1" or "2-3" (e.g.
// "cpu0:0:1,cpu1:1:1"), or the path of a JSON file
// {"processors": [{"name": "cpu0", "cores": [0], "threads": 1}, ...]}.
// Malformed text is a UsageError; a malformed file an InputError naming the field.
ProcessorSetup ParseProcessorSetup(const std::string& text_or_file);

std::string ToString(const ProcessorSetup& setup);  // the list form

}  // namespace sparseloom::profile
