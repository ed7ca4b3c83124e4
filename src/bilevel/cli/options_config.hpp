#pragma once
// Reads the options of the estimator ([estimator]) and of the outer loop ([ul]) from a config
// (keys documented in docs/config.md).
#include <string>

#include "bilevel/cli/config.hpp"
#include "bilevel/estimators/options.hpp"
#include "bilevel/methods/upper_level.hpp"

namespace bilevel {

// Values absent from the config keep those of `defaults` (a preset's, or EstimatorOptions{}).
EstimatorOptions read_estimator_options(Config& config, const EstimatorOptions& defaults = {},
                                        const std::string& prefix = "estimator");

// Reads UpperLevelOptions from the [ul] table.
UpperLevelOptions read_upper_level_options(Config& config, const UpperLevelOptions& defaults = {});

}  // namespace bilevel
