// The cost model against this host's measured stage latencies (docs/devices.md "Fit to this
// host"): reads zoos and the performance tables `sparseloom profile` wrote for them, prints the
// shipped host profile's error, fits the profile's free parameters (log-space least squares), and
// prints the fitted values, the fit error per zoo and a leave-one-zoo-out check (fit on the other
// zoos, predict the held-out one).
//
//   cost_model_fit [--device devices/host.json] [--write FILE] [--predict DEVICE.json]...
//                  ZOO_DIR[:TABLE] ...
//
// --predict prints, per zoo and processor of another device profile, the predicted latency of the
// whole dense, int8 and bf16 variants (sum of their stages), for a plausibility check.
//
// TABLE defaults to ZOO_DIR/profile/performance_table.json. Every processor column of every table
// is a sample of the device's first processor (the host's core sets are identical); --write
// stores the fitted profile, applied to every processor of the device, with "fitted" sources.

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json_reader.h"
#include "profile/performance_table.h"
#include "sim/cost_model.h"
#include "sim/cost_model_fit.h"
#include "sim/device_profile.h"
#include "zoo/zoo.h"

using namespace sparseloom;

namespace {

std::vector<sim::LatencySample> Samples(const std::string& zoo_dir, const std::string& table_file) {
  const zoo::Zoo z = zoo::LoadZoo(zoo_dir);
  const profile::PerformanceTable t = profile::LoadPerformanceTable(table_file);
  if (t.num_stages != z.num_stages)
    throw UsageError(table_file + ": table and zoo " + zoo_dir + " disagree on K");
  std::vector<sim::LatencySample> out;
  for (int v = 0; v < t.num_variants(); ++v) {
    const std::size_t zv = z.VariantIndex(t.variant_ids[static_cast<std::size_t>(v)]);
    for (int k = 0; k < t.num_stages; ++k) {
      for (int p = 0; p < t.num_processors(); ++p) {
        sim::LatencySample s;
        s.work = sim::WorkOf(z, zv, k + 1);
        s.measured_ms = t.StageLatency(k, v, p);
        s.group = z.task;
        out.push_back(s);
      }
    }
  }
  return out;
}

std::string Fmt(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

void PrintByGroup(const std::map<std::string, double>& by_group,
                  const std::map<std::string, int>& counts) {
  for (const auto& [group, mape] : by_group) {
    std::printf("    %-22s %4d stages  MAPE %5.1f%%\n", group.c_str(), counts.at(group),
                100.0 * mape);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_file = "devices/host.json";
  std::string write_file;
  std::vector<std::string> predict_files;
  std::vector<std::pair<std::string, std::string>> zoos;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--device" && i + 1 < argc) {
      device_file = argv[++i];
    } else if (arg == "--write" && i + 1 < argc) {
      write_file = argv[++i];
    } else if (arg == "--predict" && i + 1 < argc) {
      predict_files.push_back(argv[++i]);
    } else if (arg.rfind("--", 0) == 0) {
      std::cerr << "usage: cost_model_fit [--device FILE] [--write FILE] ZOO_DIR[:TABLE] ...\n";
      return 2;
    } else {
      const std::size_t colon = arg.find(':');
      if (colon == std::string::npos)
        zoos.emplace_back(arg, arg + "/profile/" + profile::kTableFile);
      else
        zoos.emplace_back(arg.substr(0, colon), arg.substr(colon + 1));
    }
  }
  if (zoos.empty()) {
    std::cerr << "usage: cost_model_fit [--device FILE] [--write FILE] ZOO_DIR[:TABLE] ...\n";
    return 2;
  }
  try {
    sim::DeviceProfile device = sim::LoadDeviceProfile(device_file);
    const sim::ProcessorProfile& shipped = device.processors.at(0);
    std::vector<sim::LatencySample> all;
    std::map<std::string, std::vector<sim::LatencySample>> by_zoo;
    std::map<std::string, int> counts;
    for (const auto& [dir, table] : zoos) {
      std::vector<sim::LatencySample> s = Samples(dir, table);
      for (const sim::LatencySample& x : s) {
        all.push_back(x);
        by_zoo[x.group].push_back(x);
        ++counts[x.group];
      }
    }
    std::printf("%zu stage latencies from %zu zoos; processor %s of %s\n\n", all.size(),
                zoos.size(), shipped.name.c_str(), device_file.c_str());

    std::map<std::string, double> shipped_groups;
    const double shipped_mape = sim::Mape(shipped, all, &shipped_groups);
    std::printf("shipped profile (%s): MAPE %.1f%%\n", device_file.c_str(), 100.0 * shipped_mape);
    PrintByGroup(shipped_groups, counts);

    const sim::FitResult fit = sim::FitProcessor(shipped, all);
    std::printf("\nfitted on all zoos (%d iterations): MAPE %.1f%%, RMS log error %.3f\n",
                fit.iterations, 100.0 * fit.mape, fit.rms_log_error);
    PrintByGroup(fit.mape_by_group, counts);
    const sim::ProcessorProfile& f = fit.processor;
    std::printf("  fitted parameters:\n");
    for (int i = 0; i < sim::kNumComputePrecisions; ++i) {
      const auto& s = f.precisions[i];
      if (s.mode != sim::PrecisionSupport::Mode::kNative)
        continue;
      std::printf("    %-5s utilization %.4g of %.4g ops/s peak = %.4g ops/s effective\n",
                  sim::ToString(static_cast<sim::ComputePrecision>(i)).c_str(), s.utilization,
                  s.peak_ops_per_s, s.EffectiveOpsPerS());
    }
    std::printf(
        "    dispatch overhead %.4g ms, memory %.4g bytes/s, exploited sparsity: "
        "unstructured %.3f, structured %.3f\n",
        f.dispatch_overhead_ms, f.memory_bytes_per_s, f.unstructured_exploited,
        f.structured_exploited);
    for (const auto& [family, factors] : f.family_factors) {
      std::printf("    family %-10s factors fp32 %.3f half %.3f int8 %.3f\n", family.c_str(),
                  factors[0], factors[1], factors[2]);
    }

    if (by_zoo.size() > 1) {
      std::printf("\nleave one zoo out (fit on the others, predict the held-out zoo):\n");
      for (const auto& [held_out, samples] : by_zoo) {
        std::vector<sim::LatencySample> rest;
        for (const sim::LatencySample& s : all) {
          if (s.group != held_out)
            rest.push_back(s);
        }
        sim::FitOptions options;
        options.reference_family = all.front().work.family;
        try {
          const sim::FitResult partial = sim::FitProcessor(shipped, rest, options);
          std::printf("    %-22s MAPE %5.1f%%\n", held_out.c_str(),
                      100.0 * sim::Mape(partial.processor, samples));
        } catch (const UsageError& e) {
          std::printf("    %-22s (not predictable: %s)\n", held_out.c_str(), e.what());
        }
      }
    }

    for (const std::string& file : predict_files) {
      const sim::DeviceProfile other = sim::LoadDeviceProfile(file);
      std::printf("\npredicted whole-variant latency (ms, sum of stages) on %s:\n",
                  other.name.c_str());
      for (const auto& [dir, table] : zoos) {
        const zoo::Zoo z = zoo::LoadZoo(dir);
        for (const char* id : {"dense", "int8", "bf16"}) {
          std::printf("    %-20s %-6s", z.task.c_str(), id);
          for (const sim::ProcessorProfile& p : other.processors) {
            double total = 0.0;
            bool runs = true;
            for (int k = 1; k <= z.num_stages; ++k) {
              const sim::StageWork w = sim::WorkOf(z, z.VariantIndex(id), k);
              if (sim::WhyUnsupported(p, w)) {
                runs = false;
                break;
              }
              total += sim::StageLatencyMs(p, w);
            }
            if (runs)
              std::printf("  %s %7.3f", p.name.c_str(), total);
            else
              std::printf("  %s       -", p.name.c_str());
          }
          std::printf("\n");
        }
      }
    }

    if (!write_file.empty()) {
      std::string zoo_list;
      for (const auto& [group, n] : counts)
        zoo_list += (zoo_list.empty() ? "" : ", ") + group;
      const std::string fitted_source =
          "fitted: bench/cost_model_fit, log-space least squares on " + std::to_string(all.size()) +
          " measured batch-1 stage latencies of " + zoo_list + " on this host (MAPE " +
          Fmt("%.1f", 100.0 * fit.mape) + "%)";
      for (const std::string& name : fit.parameters) {
        for (std::size_t i = 0; i < device.processors.size(); ++i) {
          std::string path = "processors[" + std::to_string(i) + "].";
          if (name.rfind("utilization.", 0) == 0)
            path += "precisions." + name.substr(12) + ".utilization";
          else
            path += name;
          device.sources[path] = fitted_source;
        }
      }
      for (sim::ProcessorProfile& p : device.processors) {
        const std::string name = p.name;
        const std::string description = p.description;
        p = f;
        p.name = name;
        p.description = description;
      }
      WriteFileAtomically(write_file, sim::DeviceProfileToJson(device, fitted_source));
      std::printf("\nwrote the fitted profile to %s\n", write_file.c_str());
    }
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
