#pragma once
// The options a random search draws, from a config's [search.space] table, one entry per config key:
//
//   "ul.step"                 = { log_uniform = [1e3, 1e9] }       real, log-uniform
//   "estimator.ll.step"       = { uniform = [0.1, 1.0] }           real, uniform
//   "estimator.ll.iterations" = { log_uniform_int = [10, 1000] }   integer, log-uniform, rounded
//   "estimator.batch_size"    = { uniform_int = [16, 128] }        integer, uniform
//   "method"                  = { choice = ["stocbio", "amigo"] }  one of the values, uniform
//   "estimator.ls.iterations" = { same_as = "estimator.ll.iterations" }   tied to another key's draw
//   "estimator.cross_batch_size" = { same_as = "estimator.ll.iterations", times = 90, max = 3000 }
//                                                       ... times a factor, at most a bound
//
// Draw i of seed s depends only on (s, i): a larger search extends a smaller one.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace bilevel {

struct SearchParameter {
  enum class Kind { kLogUniform, kUniform, kLogUniformInt, kUniformInt, kChoice, kSameAs };
  std::string key;
  Kind kind = Kind::kUniform;
  double low = 0, high = 0;          // the interval of the four numeric kinds
  std::vector<std::string> choices;  // kChoice: the values as TOML text
  std::string same_as;               // kSameAs: the key whose drawn value this one takes
  double times = 1;                  // kSameAs: ... multiplied by this (an integer stays an integer)
  double max = 0;                    // kSameAs: ... and at most this (0 = no bound)
  std::string describe() const;      // e.g. "log-uniform in [1000, 1e+09]"
};

// One drawn setting: (config key, value as TOML text), in the order of the space.
using SearchDraw = std::vector<std::pair<std::string, std::string>>;

class SearchSpace {
 public:
  // `where` names the table in errors, e.g. "examples/dp.toml: search.space".
  static SearchSpace parse(const toml::table& space, const std::string& where);
  SearchDraw draw(std::uint64_t seed, int index) const;
  const std::vector<SearchParameter>& parameters() const { return parameters_; }
  bool empty() const { return parameters_.empty(); }

 private:
  std::vector<SearchParameter> parameters_;
};

}  // namespace bilevel
