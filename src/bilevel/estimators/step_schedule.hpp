#pragma once
// Step sizes eta_i of an iterative solver: eta_i = step / (1 + i / offset)^power.
//   power = 0            constant step (the default)
//   power = 1            step * offset / (offset + i): the data-poisoning code's lr * gamma / (gamma + t)
//   offset = 1, power a  step / (i + 1)^a: the decreasing schedules of the stochastic theory
#include <cmath>
#include <cstdint>
#include <string>

#include "bilevel/core/error.hpp"

namespace bilevel {

struct StepSchedule {
  double step = 1.0;          // eta_0
  double decay_power = 0.0;   // a >= 0
  double decay_offset = 1.0;  // offset > 0, in iterations

  double at(std::int64_t i) const {
    if (decay_power == 0.0) return step;
    return step / std::pow(1.0 + static_cast<double>(i) / decay_offset, decay_power);
  }
  bool constant() const { return decay_power == 0.0; }

  void validate(const std::string& name) const {
    if (!(step > 0) || !std::isfinite(step))
      throw InvalidOptions(name + ".step must be a finite number > 0, got " + std::to_string(step));
    if (!(decay_power >= 0)) throw InvalidOptions(name + ".decay_power must be >= 0, got " + std::to_string(decay_power));
    if (!(decay_offset > 0)) throw InvalidOptions(name + ".decay_offset must be > 0, got " + std::to_string(decay_offset));
  }
};

}  // namespace bilevel
