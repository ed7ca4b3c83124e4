// Fuzzes the decoder of a run's saved state (what `bilevel run --resume` reads from state.bin):
// OuterLoop::resume on two small real problems, one per estimator kind:
//   0: logistic-ho (as the CLI runs it: the gradient step map), minibatches drawn without replacement (the samplers' permutations);
//   1: equilibrium, the separable estimator with a warm-start store (one z per example).
// A state is made once per problem by a real run stopped after its second iteration. The input edits
// it, so the fuzzer starts from a valid state rather than having to find one:
//   byte 0: which problem (low bit); bytes 1-4: a length (little-endian) to cut the state to, if
//   shorter; the rest is XORed onto the state byte by byte and, past its end, appended to it.
// So the empty input resumes the untouched state, which must complete.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/methods/outer_loop.hpp"
#include "bilevel/problems/equilibrium.hpp"
#include "bilevel/problems/logistic_ho.hpp"
#include "bilevel/problems/minimization_adapter.hpp"
#include "fuzz_input.hpp"

namespace bilevel::fuzz {
namespace {

// A random dataset of `n` rows, 5 features, 3 classes.
Dataset random_dataset(Index n, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.x = RowMatrix<float>(n, 5);
  for (Index i = 0; i < d.x.size(); ++i) d.x.data()[i] = static_cast<float>(rng.normal());
  d.num_classes = 3;
  for (Index i = 0; i < n; ++i) d.y.push_back(static_cast<std::int32_t>(rng() % 3));
  d.source = "fuzz-data";
  return d;
}

UpperLevelOptions upper_level() {
  UpperLevelOptions ul;
  ul.max_iterations = 4;
  ul.eval_every = 2;
  return ul;
}

EvaluationOptions evaluation() {
  EvaluationOptions e;
  e.iterations = 50;
  return e;
}

// One problem with its estimator options and the state its run saved at iteration 2.
template <class P>
struct Case {
  P problem;
  EstimatorOptions estimator;
  std::string state;

  Case(P p, EstimatorOptions o) : problem(std::move(p)), estimator(std::move(o)) {
    OuterLoop<P> loop(problem, estimator, upper_level(), /*seed=*/3, evaluation());
    loop.on_state([this](const ArchiveWriter& saved, std::int64_t last) {
      if (last == 2) state = saved.bytes();
    });
    if constexpr (requires { problem.initial_lambda(); }) loop.run(problem.initial_lambda());
    else loop.run(Vector<double>::Constant(problem.dim_lambda(), -2.0));
    if (state.empty()) {  // the harness itself is broken, not the decoder
      std::fputs("fuzz_state: the reference run saved no state at iteration 2\n", stderr);
      std::abort();
    }
  }

  void resume(const std::string& bytes) const {
    OuterLoop<P> loop(problem, estimator, upper_level(), /*seed=*/3, evaluation());
    loop.resume(bytes, "fuzz-state.bin");
  }
};

struct Data {
  Dataset train = random_dataset(40, 1), validation = random_dataset(20, 2), test = random_dataset(20, 3);
};
const Data& data() {
  static const Data d;
  return d;
}

using LogisticHOProblem = MinimizationAdapter<LogisticHO<double>>;
const Case<LogisticHOProblem>& logistic_ho() {
  static const Case<LogisticHOProblem> c = [] {
    EstimatorOptions o;
    o.ll.iterations = 3;
    o.ll.batch_size = 10;  // without replacement: the LL sampler keeps a permutation of the 40 rows
    o.ls.iterations = 3;
    o.ls.batch_size = 10;
    o.outer_batch_size = 8;
    o.ll.warm_start = true;
    return Case<LogisticHOProblem>(LogisticHOProblem(LogisticHO<double>(data().train, data().validation, data().test), 0.1), o);
  }();
  return c;
}

const Case<Equilibrium<double>>& equilibrium() {
  static const Case<Equilibrium<double>> c = [] {
    EquilibriumOptions eq;
    eq.hidden = 4;
    eq.metric_iterations = 20;
    EstimatorOptions o;
    o.ll.iterations = 2;
    o.ls.iterations = 2;
    o.outer_batch_size = 6;
    o.ll.warm_start = true;  // the warm-start store: one z per training example
    return Case<Equilibrium<double>>(Equilibrium<double>(data().train, data().validation, data().test, eq), o);
  }();
  return c;
}

// The reference state edited as the header comment describes.
std::string edited(const std::string& state, Input& in) {
  const std::size_t cut = in.u32();
  std::string s = state.substr(0, std::min<std::size_t>(cut == 0 ? state.size() : cut, state.size()));
  const std::string_view mask = in.rest;
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (i < s.size()) s[i] = static_cast<char>(s[i] ^ mask[i]);
    else s.push_back(mask[i]);
  }
  return s;
}

}  // namespace
}  // namespace bilevel::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bilevel::fuzz;
  Input in(data, size);
  const bool separable = in.byte() & 1;
  try {
    if (separable) equilibrium().resume(edited(equilibrium().state, in));
    else logistic_ho().resume(edited(logistic_ho().state, in));
  } catch (const bilevel::Error&) {
  }
  return 0;
}
