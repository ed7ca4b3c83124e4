#pragma once
// Reads the options of the estimator ([estimator]) and of the outer loop ([ul]) from a config
// (keys documented in docs/config.md).
#include <string>

#include "bilevel/cli/config.hpp"
#include "bilevel/estimators/options.hpp"
#include "bilevel/core/types.hpp"
#include "bilevel/methods/evaluator.hpp"
#include "bilevel/methods/upper_level.hpp"

namespace bilevel {

// Values absent from the config keep those of `defaults` (a preset's, or EstimatorOptions{}).
EstimatorOptions read_estimator_options(Config& config, const EstimatorOptions& defaults = {},
                                        const std::string& prefix = "estimator");

// Reads UpperLevelOptions from the [ul] table.
UpperLevelOptions read_upper_level_options(Config& config, const UpperLevelOptions& defaults = {});

// The options of a method: the top-level `method` (a preset of methods/presets.hpp, or "custom" for
// the estimator's own defaults), its minibatch `estimator.batch_size` (B; default 64, at most the
// population), then every estimator.* and ul.* key on top of the preset's defaults.
struct MethodOptions {
  std::string method;
  EstimatorOptions estimator;
  UpperLevelOptions ul;
};
MethodOptions read_method_options(Config& config, Index ll_population, Index ul_population);

// The [evaluation] table: the accurate solve behind metrics (run) and the reference hypergradient
// (hypergrad reference = true).
EvaluationOptions read_evaluation_options(Config& config);

}  // namespace bilevel
