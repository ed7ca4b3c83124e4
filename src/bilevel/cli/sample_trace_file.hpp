#pragma once
// `--trace-samples FILE`: every minibatch a run or hypergradient draws, one JSON object per line, in the
// order drawn:
//   {"sampler":"ll","ids":[3,17,42]}     the example ids of a minibatch
//   {"sampler":"ls","all":5000}          a full batch: ids 0..4999 in order
// Sampler names: "ll", "ls", "cross" (counted as samples_ll), "outer", "ls_outer" (samples_ul), and
// "blocks" for separable problems (samples_ul): the ids of all lines add up to the counts the run
// reports. Ids index the problem's training split for the LL samplers and its validation split for the
// UL ones (the training examples for "blocks").
#include <optional>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bilevel/core/files.hpp"
#include "bilevel/core/sampler.hpp"

namespace bilevel {

class SampleTraceFile final : public SampleTrace {
 public:
  explicit SampleTraceFile(const std::string& path) : log_(path) {}
  void drawn(const char* sampler, Batch ids, bool full_batch) override {
    if (full_batch) {
      log_.write(fmt::format(R"({{"sampler":"{}","all":{}}})", sampler, ids.size()));
    } else {
      log_.write(fmt::format(R"({{"sampler":"{}","ids":[{}]}})", sampler, fmt::join(ids, ",")));
    }
  }

 private:
  LineLog log_;
};

// The trace of a request (nullopt without --trace-samples), opened before any work so that an
// unwritable path fails at once.
inline std::optional<SampleTraceFile> open_sample_trace(const std::string& path) {
  if (path.empty()) return std::nullopt;
  return std::optional<SampleTraceFile>(std::in_place, path);
}

}  // namespace bilevel
