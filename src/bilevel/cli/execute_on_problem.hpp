#pragma once
// Runs a CommandRequest on a built problem; included only by the files of cli/problem_commands/.
#include "bilevel/cli/hypergrad_on_problem.hpp"
#include "bilevel/cli/problem_commands.hpp"
#include "bilevel/cli/run_on_problem.hpp"

namespace bilevel {

template <class P>
int execute_on_problem(const P& problem, Config& c, const CommandRequest& request) {
  if (request.kind == CommandRequest::Kind::kHypergrad)
    return hypergrad_on_problem(problem, c, *request.out, request.trace_path);
  return run_on_problem(problem, c, request.out_dir, *request.out, request.resume, request.trace_path);
}

}  // namespace bilevel
