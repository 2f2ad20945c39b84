// The `sparseloom` command.

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/bench_command.h"
#include "cli/loadgen_command.h"
#include "cli/plan_command.h"
#include "cli/profile_command.h"
#include "cli/run_command.h"
#include "cli/serve_command.h"
#include "cli/truth_command.h"
#include "cli/zoo_commands.h"
#include "common/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "SparseLoom: serve several DNN tasks on one edge SoC by stitching stages of sparse model "
      "variants.\nZoo format: docs/zoo-format.md. Build a zoo with tools/zoo (see README.md)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sparseloom 0.1.0");
  sparseloom::cli::AddZooCommands(app);
  sparseloom::cli::AddProfileCommand(app);
  sparseloom::cli::AddTruthCommand(app);
  sparseloom::cli::AddPlanCommand(app);
  sparseloom::cli::AddRunCommand(app);
  sparseloom::cli::AddBenchCommand(app);
  sparseloom::cli::AddServeCommand(app);
  sparseloom::cli::AddLoadgenCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sparseloom::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
