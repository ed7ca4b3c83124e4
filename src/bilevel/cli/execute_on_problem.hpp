#pragma once
// Runs a CommandRequest on a built problem; included only by the files of cli/problem_commands/.
// The problem is erased first (problems/any_problem.hpp), so `run` and `hypergrad` are compiled once
// per scalar type and kind of problem (cli/problem_engine_*.cpp), not once per problem.
#include "bilevel/cli/problem_commands.hpp"
#include "bilevel/cli/problem_config.hpp"  // the problem files read their keys with these
#include "bilevel/problems/any_problem.hpp"

namespace bilevel {

// Defined in cli/problem_engine.hpp and instantiated for AnyProblem<S> and AnySeparableProblem<S>
// (float and double) only.
template <class ErasedProblem>
int execute_erased(const ErasedProblem& problem, Config& c, const CommandRequest& request);

template <class P>
int execute_on_problem(const P& problem, Config& c, const CommandRequest& request) {
  using S = typename P::Scalar;
  if constexpr (SeparableProblem<P>)
    return execute_erased(AnySeparableProblem<S>(problem), c, request);
  else
    return execute_erased(AnyProblem<S>(problem), c, request);
}

}  // namespace bilevel
