// The command-line engine for the separable problems (equilibrium models, meta-learning).
#include "bilevel/cli/problem_engine.hpp"

namespace bilevel {

template int execute_erased(const AnySeparableProblem<float>&, Config&, const CommandRequest&);
template int execute_erased(const AnySeparableProblem<double>&, Config&, const CommandRequest&);

}  // namespace bilevel
