#pragma once
// What the handlers of `sparseloom serve` share (internal to src/serve).

#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include "plan/task_file.h"
#include "serve/control.h"
#include "serve/inference_server.h"
#include "serve/metrics.h"
#include "sparseloom/runtime.h"

namespace sparseloom::serve {

struct ServerState {
  ServerState(const plan::TaskFile& deployment, ServerOptions options, std::ostream& log);

  // The deployment's task of that name, or null.
  const plan::TaskSpec* Spec(const std::string& model) const;
  // Loads the model into the runtime and waits for its plan.
  void Load(const plan::TaskSpec& spec);
  void Log(const std::string& line);

  plan::TaskFile deployment;
  ServerOptions options;
  std::optional<ControlToken> token;
  Runtime runtime;
  ServerCounters counters;
  std::mutex change_mutex;  // one repository or SLO change at a time
  std::ostream& log;
  std::mutex log_mutex;
};

}  // namespace sparseloom::serve
