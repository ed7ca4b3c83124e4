#include "bilevel/cli/problem_commands.hpp"

#include <array>
#include <vector>

namespace bilevel {

std::span<const ProblemEntry> problem_entries() {
  static constexpr std::array entries{
      ProblemEntry{"quadratic",
                   "synthetic quadratic bilevel problem with a closed-form hypergradient (problem.form = "
                   "minimization | fixed_point; problem.noise_ll / noise_ul for the stochastic version)",
                   execute_quadratic},
      ProblemEntry{"logistic-ho",
                   "per-feature L2 regularisation of multinomial logistic regression, tuned on validation data",
                   execute_logistic_ho},
      ProblemEntry{"data-poisoning",
                   "noise on training images that maximises a linear classifier's validation loss",
                   execute_data_poisoning},
      ProblemEntry{"hyper-cleaning", "per-example weights that undo corrupted training labels",
                   execute_hyper_cleaning},
      ProblemEntry{"hyper-representation",
                   "synthetic regression with a learned linear representation (loops paper, Table 3)",
                   execute_hyper_representation},
      ProblemEntry{"equilibrium",
                   "equilibrium (implicit) model: one tanh fixed point per example, ||A||_2 <= radius (warm-start paper)",
                   execute_equilibrium},
      ProblemEntry{"meta-learning",
                   "a shared tanh-network representation for n-way k-shot tasks, one linear head per task (warm-start paper)",
                   execute_meta_learning},
  };
  return entries;
}

int execute_command(Config& c, const CommandRequest& request) {
  const auto precision =
      c.get_choice("precision", "double", {"double", "float"}) == "float" ? Precision::kFloat : Precision::kDouble;
  std::vector<std::string> names;
  for (const ProblemEntry& e : problem_entries()) names.emplace_back(e.name);
  const auto name = c.get_choice("problem.name", names.front(), names);
  for (const ProblemEntry& e : problem_entries())
    if (name == e.name) return e.execute(c, precision, request);
  return 1;  // unreachable: get_choice accepted only a listed name
}

}  // namespace bilevel
