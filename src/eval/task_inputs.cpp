#include "eval/task_inputs.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.h"
#include "eval/format.h"
#include "zoo/zoo.h"

namespace sparseloom::eval {
namespace {

// Quotes a path for a shell command line only when it needs it.
std::string ShellWord(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string("_./:+,=-").find(c) != std::string::npos;
  });
  if (plain)
    return word;
  std::string out = "'";
  for (char c : word)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

profile::ProcessorSetup SetupOf(const plan::TaskFile& file) {
  if (file.processors.empty())
    return profile::DefaultProcessorSetup();
  try {
    return profile::ParseProcessorSetup(file.processors);
  } catch (const UsageError& e) {
    throw InputError(file.file.string(), "processors",
                     "a processor setup \"NAME:CORES:THREADS,...\" or a JSON file", e.what());
  }
}

std::filesystem::path TableFile(const plan::TaskSpec& task, const zoo::Zoo& z) {
  // Where `sparseloom profile` writes it: ZOO/profile/ by default, else OUT/<zoo task>/.
  if (task.profile_dir.empty())
    return task.zoo_dir / "profile" / profile::kTableFile;
  return task.profile_dir / z.task / profile::kTableFile;
}

// A task whose table must be (re)made before planning.
struct MissingTable {
  std::string task;
  std::string problem;
  std::filesystem::path zoo_dir;
  std::filesystem::path profile_dir;
  bool unreadable = false;  // `sparseloom profile` would refuse it too: needs --force
};

std::string WhyStale(const profile::PerformanceTable& table, const zoo::Zoo& z,
                     const profile::ProcessorSetup& setup) {
  if (table.task != z.task) {
    return "it was made for another zoo (task '" + table.task + "', " + table.zoo_dir +
           "), not for task '" + z.task + "'";
  }
  if (table.profiler_version != profile::kProfilerVersion) {
    return "it was made by profiler version " + table.profiler_version + ", this is version " +
           profile::kProfilerVersion;
  }
  if (profile::ToString(table.processors) != profile::ToString(setup)) {
    return "it was made for processors " + profile::ToString(table.processors) +
           ", the task file plans for " + profile::ToString(setup);
  }
  return "the zoo changed since it was made (manifest or stage files differ)";
}

// The exact commands that make the missing tables: one per output folder, all of its zoos at once.
std::string ProfileCommands(const std::vector<MissingTable>& missing, const plan::TaskFile& file) {
  struct Group {
    std::filesystem::path profile_dir;
    bool force = false;
    std::vector<std::string> zoos;
  };
  std::vector<Group> groups;
  for (const MissingTable& m : missing) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return g.profile_dir == m.profile_dir && g.force == m.unreadable;
    });
    if (it == groups.end())
      it = groups.insert(groups.end(), Group{m.profile_dir, m.unreadable, {}});
    if (std::find(it->zoos.begin(), it->zoos.end(), m.zoo_dir.string()) == it->zoos.end())
      it->zoos.push_back(m.zoo_dir.string());
  }
  std::string out;
  for (const Group& g : groups) {
    std::vector<std::string> words = {" ", "sparseloom", "profile"};
    for (const std::string& z : g.zoos)
      words.push_back(ShellWord(z));
    if (!file.processors.empty())
      words.insert(words.end(), {"--processors", ShellWord(file.processors)});
    if (!g.profile_dir.empty())
      words.insert(words.end(), {"--out", ShellWord(g.profile_dir.string())});
    if (g.force)
      words.push_back("--force");
    out += Join(words, " ");
    out += '\n';
  }
  return out;
}

}  // namespace

Inputs LoadInputs(const std::string& task_file) {
  Inputs in;
  in.file = plan::LoadTaskFile(task_file);
  in.setup = SetupOf(in.file);
  std::map<std::string, std::size_t> loaded;  // table file -> index
  std::vector<MissingTable> missing;
  for (const plan::TaskSpec& task : in.file.tasks) {
    const zoo::Zoo z = zoo::LoadZoo(task.zoo_dir);
    const std::filesystem::path file = TableFile(task, z);
    in.table_files.push_back(file);
    if (auto it = loaded.find(file.string()); it != loaded.end()) {
      in.table_of_task.push_back(it->second);
      continue;
    }
    MissingTable m{task.name, "", task.zoo_dir, task.profile_dir};
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      m.problem = "no performance table at " + file.string();
      missing.push_back(m);
      continue;
    }
    try {
      profile::PerformanceTable table = profile::LoadPerformanceTable(file);
      if (table.key != profile::ProfileKey(z, in.setup) ||
          table.profiler_version != profile::kProfilerVersion) {
        m.problem =
            "the performance table " + file.string() + " is stale: " + WhyStale(table, z, in.setup);
        missing.push_back(m);
        continue;
      }
      in.profiles.push_back(profile::ToTaskProfile(table));
      in.tables.push_back(std::move(table));
      in.truths.push_back(profile::LoadFreshTruth(file.parent_path() / profile::kTruthFile,
                                                  profile::AccuracyTruthKey(z)));
      in.true_accuracy.push_back(in.truths.back() ? in.truths.back()->Accuracies()
                                                  : std::vector<double>{});
    } catch (const Error& e) {
      m.problem = "the performance table cannot be used: " + std::string(e.what());
      m.unreadable = true;
      missing.push_back(m);
      continue;
    }
    loaded.emplace(file.string(), in.tables.size() - 1);
    in.table_of_task.push_back(in.tables.size() - 1);
  }
  if (!missing.empty()) {
    std::string message = in.file.file.string() + ": cannot plan without a fresh performance " +
                          "table for every task (`sparseloom plan` never profiles implicitly):\n";
    for (const MissingTable& m : missing)
      message += "  task '" + m.task + "': " + m.problem + "\n";
    message += "make them with (a few minutes per zoo, on an otherwise idle machine):\n" +
               ProfileCommands(missing, in.file);
    message.pop_back();
    throw UsageError(message);
  }
  if (in.file.placements == plan::PlacementSpace::kOrders) {
    for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
      const plan::TaskProfile& p = in.profiles[in.table_of_task[t]];
      if (p.num_stages > static_cast<int>(in.setup.size())) {
        throw InputError(in.file.file.string(), "placements",
                         "\"any\": \"orders\" puts every stage on its own processor and needs K <= "
                         "P, but task '" +
                             in.file.tasks[t].name + "' has K = " + std::to_string(p.num_stages) +
                             " stages and the setup " + std::to_string(in.setup.size()) +
                             " processors",
                         "\"orders\"");
      }
    }
  }
  return in;
}

const std::vector<double>* TrueAccuracyOf(const Inputs& in, std::size_t task) {
  const std::vector<double>& truth = in.true_accuracy.at(in.table_of_task.at(task));
  return truth.empty() ? nullptr : &truth;
}

std::vector<double> ApplyAccuracyMargins(Inputs& in, double coverage) {
  std::vector<double> margins;
  for (std::size_t i = 0; i < in.tables.size(); ++i) {
    const profile::PerformanceTable& table = in.tables[i];
    const bool estimated = std::any_of(table.accuracy_measured.begin(),
                                       table.accuracy_measured.end(), [](auto m) { return !m; });
    double margin = 0.0;
    if (estimated && coverage > 0.0) {
      if (table.accuracy_error.residuals.empty()) {
        std::size_t task = 0;
        while (in.table_of_task[task] != i)
          ++task;
        const plan::TaskSpec& spec = in.file.tasks[task];
        throw UsageError(
            in.table_files[i].string() +
            ": the accuracy estimator's cross-validated residuals are not in this table (made "
            "before they were kept), and planning on a lower bound needs them; re-profile:\n" +
            ProfileCommands({MissingTable{spec.name, "", spec.zoo_dir, spec.profile_dir, true}},
                            in.file) +
            "or plan on the estimates themselves with --accuracy-coverage 0");
      }
      margin = profile::ConformalMargin(table.accuracy_error.residuals, coverage);
    }
    in.profiles[i].accuracy_margin = margin;
    margins.push_back(margin);
  }
  return margins;
}

plan::PlanRequest RequestOf(const Inputs& in) {
  plan::PlanRequest request;
  for (const auto& p : in.setup)
    request.processors.push_back(p.name);
  request.memory_budget_bytes = in.file.memory_budget_bytes;
  request.placements = in.file.placements;
  for (std::size_t t = 0; t < in.file.tasks.size(); ++t) {
    const plan::TaskSpec& spec = in.file.tasks[t];
    request.tasks.push_back(plan::PlanTask{
        spec.name, std::cref(in.profiles[in.table_of_task[t]]), spec.slo, spec.rate_per_s, {}});
  }
  return request;
}

}  // namespace sparseloom::eval
