#pragma once
// Reads EstimatorOptions from the [estimator] table of a config (keys documented in docs/config.md).
#include <string>

#include "bilevel/cli/config.hpp"
#include "bilevel/estimators/options.hpp"

namespace bilevel {

EstimatorOptions read_estimator_options(Config& config, const std::string& prefix = "estimator");

}  // namespace bilevel
