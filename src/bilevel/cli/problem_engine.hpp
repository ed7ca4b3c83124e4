#pragma once
// `run` and `hypergrad` on an erased problem (cli/execute_on_problem.hpp); included only by
// cli/problem_engine_*.cpp, which instantiate it once per scalar type and kind of problem.
#include "bilevel/cli/execute_on_problem.hpp"
#include "bilevel/cli/hypergrad_on_problem.hpp"
#include "bilevel/cli/run_on_problem.hpp"

namespace bilevel {

template <class ErasedProblem>
int execute_erased(const ErasedProblem& problem, Config& c, const CommandRequest& request) {
  if (request.kind == CommandRequest::Kind::kHypergrad)
    return hypergrad_on_problem(problem, c, *request.out, request.trace_path);
  return run_on_problem(problem, c, request.out_dir, *request.out, request.resume, request.trace_path);
}

}  // namespace bilevel
