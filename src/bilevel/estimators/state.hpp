#pragma once
// Warm-start state: what one call of the estimator leaves for the next. The caller owns it: one state
// for a single lower level, or one per task / per example for a separable one (WarmStartStore), whose
// memory grows with the number of tasks and is therefore reported.
#include <cstdint>
#include <unordered_map>

#include "bilevel/core/archive.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

template <class S>
struct EstimatorState {
  Vector<S> w;                 // last lower-level solution (empty: none yet)
  Vector<S> v;                 // last linear-system solution (empty: none yet)
  std::int64_t ll_steps = 0;   // position reached in the lower-level step schedule

  std::size_t memory_bytes() const { return sizeof(S) * static_cast<std::size_t>(w.size() + v.size()); }
};

// One state per task id, created on first use.
template <class S>
void save_state(ArchiveWriter& a, const EstimatorState<S>& s) {
  a.vector(s.w);
  a.vector(s.v);
  a.i64(s.ll_steps);
}
template <class S>
void load_state(ArchiveReader& a, EstimatorState<S>& s) {
  a.vector_into(s.w);
  a.vector_into(s.v);
  s.ll_steps = a.i64();
}

template <class S>
class WarmStartStore {
 public:
  EstimatorState<S>& state(std::uint64_t task) { return states_[task]; }
  std::size_t size() const { return states_.size(); }
  // Bytes held by the stored vectors (the payload that grows with the number of tasks).
  std::size_t memory_bytes() const {
    std::size_t total = 0;
    for (const auto& [task, s] : states_) total += s.memory_bytes();
    return total;
  }
  void clear() { states_.clear(); }

 private:
  std::unordered_map<std::uint64_t, EstimatorState<S>> states_;
};

}  // namespace bilevel
