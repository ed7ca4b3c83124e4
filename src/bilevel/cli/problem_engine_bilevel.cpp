// The command-line engine for every problem with one lower level (all but the separable ones).
#include "bilevel/cli/problem_engine.hpp"

namespace bilevel {

template int execute_erased(const AnyProblem<float>&, Config&, const CommandRequest&);
template int execute_erased(const AnyProblem<double>&, Config&, const CommandRequest&);

}  // namespace bilevel
