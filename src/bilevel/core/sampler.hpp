#pragma once
// Minibatch samplers over a population of examples (or an unbounded stream of samples).
#include <cstdint>
#include <numeric>
#include <vector>

#include "bilevel/core/archive.hpp"
#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"
#include "bilevel/core/types.hpp"

namespace bilevel {

// Population size 0 means an unbounded stream: every draw is a fresh random 64-bit sample id.
inline constexpr Index kUnboundedPopulation = 0;

enum class Sampling {
  kWithoutReplacement,  // distinct ids inside one minibatch (minibatches are independent)
  kWithReplacement,     // i.i.d. uniform ids
};

// Receives every minibatch a traced sampler draws (MinibatchSampler::trace_to): the record of exactly
// which examples a computation used, for auditing its sample counts or replaying it elsewhere (`bilevel
// run/hypergrad --trace-samples FILE`; bench/pytorch feeds PyTorch the same minibatches with it).
class SampleTrace {
 public:
  virtual ~SampleTrace() = default;
  // `sampler` names the sampler (its role in the estimator); a full batch is ids 0..n-1 in order.
  virtual void drawn(const char* sampler, Batch ids, bool full_batch) = 0;
};

// Whether `batch` is 0..n-1 in order: the full batch as samplers give it, which oracles may serve from
// their stored data without gathering a copy.
inline bool is_full_range(Batch batch, Index n) {
  if (static_cast<Index>(batch.size()) != n) return false;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (batch[i] != i) return false;
  return true;
}

// Draws minibatches of `batch_size` ids from [0, population). A batch as large as the population is
// the full batch: ids 0..n-1 in order, and no randomness is consumed, so deterministic runs do not
// depend on the seed. The returned span stays valid until the next draw.
class MinibatchSampler {
 public:
  MinibatchSampler() = default;
  MinibatchSampler(Index population, Index batch_size, Sampling sampling = Sampling::kWithoutReplacement)
      : population_(population), sampling_(sampling) {
    if (population < 0) throw InvalidOptions("population size must be >= 0");
    set_batch_size(batch_size);
  }

  // Starts again at `batch_size`, as a sampler constructed with it would (the same draws from the
  // same generator), in the memory this one has: BSGM's growing batches reallocate only when a batch
  // outgrows every earlier one, and the ids' vector then grows geometrically.
  void set_batch_size(Index batch_size) {
    if (batch_size <= 0) throw InvalidOptions("minibatch size must be positive, got " + std::to_string(batch_size));
    if (population_ != kUnboundedPopulation && sampling_ == Sampling::kWithoutReplacement && batch_size > population_)
      throw InvalidOptions("minibatch size " + std::to_string(batch_size) + " exceeds the " +
                           std::to_string(population_) + " examples available (sampling without replacement)");
    batch_size_ = batch_size;
    ids_.resize(static_cast<std::size_t>(batch_size));
    if (is_full_batch()) {
      std::iota(ids_.begin(), ids_.end(), SampleId{0});
      permutation_.clear();  // as a new sampler's: no permutation to save (its memory is kept)
    } else if (population_ != kUnboundedPopulation && sampling_ == Sampling::kWithoutReplacement) {
      permutation_.resize(static_cast<std::size_t>(population_));
      std::iota(permutation_.begin(), permutation_.end(), SampleId{0});
    }
  }

  Index population() const { return population_; }
  Index batch_size() const { return batch_size_; }
  bool is_full_batch() const { return population_ != kUnboundedPopulation && batch_size_ == population_; }
  // Whether every minibatch holds distinct ids (writes indexed by them cannot collide).
  bool draws_distinct() const {
    return is_full_batch() || (population_ != kUnboundedPopulation && sampling_ == Sampling::kWithoutReplacement);
  }

  // Reports every later draw to `trace` under `name` (a string that outlives the sampler); nullptr stops.
  void trace_to(SampleTrace* trace, const char* name) {
    trace_ = trace;
    trace_name_ = name;
  }

  Batch draw(Rng& rng) {
    if (!is_full_batch()) fill(rng, ids_);
    if (trace_) trace_->drawn(trace_name_, ids_, is_full_batch());
    return ids_;
  }

  // The minibatch that draw(rng) would return next, into `out`, leaving the sampler and rng as they
  // were (nothing traced): for work that can start before its iteration (the separable
  // estimator's prefetch). No allocation once `out` and the undo list have held a batch of this size.
  void peek(Rng rng, std::vector<SampleId>& out) {
    out.resize(ids_.size());
    if (is_full_batch()) {
      std::copy(ids_.begin(), ids_.end(), out.begin());
      return;
    }
    undo_.clear();
    fill(rng, out, &undo_);
    for (std::size_t i = undo_.size(); i-- > 0;) std::swap(permutation_[i], permutation_[undo_[i]]);
  }

  // The persistent permutation (sampling without replacement) is the sampler's only state.
  void save(ArchiveWriter& a) const {
    a.i64(population_);
    a.i64(batch_size_);
    a.vector(permutation_);
  }
  void load(ArchiveReader& a) {
    if (a.i64() != population_ || a.i64() != batch_size_) a.fail("a sampler of another population or batch size");
    permutation_ = a.vector<SampleId>(permutation_.size());
  }

 private:
  // A minibatch that is not the full batch, into ids; with `swaps`, the partner of each swap made.
  void fill(Rng& rng, std::vector<SampleId>& ids, std::vector<std::size_t>* swaps = nullptr) {
    const auto b = static_cast<std::size_t>(batch_size_);
    if (population_ == kUnboundedPopulation) {
      for (auto& id : ids) id = rng();
    } else if (sampling_ == Sampling::kWithReplacement) {
      for (auto& id : ids) id = rng.below(static_cast<std::uint64_t>(population_));
    } else {
      // Partial Fisher-Yates on a persistent permutation: O(b) per draw, and the first b entries are
      // a uniform b-subset whatever order earlier draws left the array in.
      const auto n = permutation_.size();
      if (swaps) swaps->resize(b);
      for (std::size_t i = 0; i < b; ++i) {
        const auto j = i + static_cast<std::size_t>(rng.below(n - i));
        std::swap(permutation_[i], permutation_[j]);
        ids[i] = permutation_[i];
        if (swaps) (*swaps)[i] = j;
      }
    }
  }

  Index population_ = kUnboundedPopulation;
  Index batch_size_ = 1;
  Sampling sampling_ = Sampling::kWithoutReplacement;
  std::vector<SampleId> ids_;
  std::vector<SampleId> permutation_;
  std::vector<std::size_t> undo_;  // peek's swaps, to take back
  SampleTrace* trace_ = nullptr;
  const char* trace_name_ = "";
};

}  // namespace bilevel
