#include "bilevel/experiments/search_space.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "bilevel/core/error.hpp"
#include "bilevel/core/rng.hpp"

namespace bilevel {
namespace {

struct KindName {
  SearchParameter::Kind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{SearchParameter::Kind::kLogUniform, "log_uniform"},
                               {SearchParameter::Kind::kUniform, "uniform"},
                               {SearchParameter::Kind::kLogUniformInt, "log_uniform_int"},
                               {SearchParameter::Kind::kUniformInt, "uniform_int"},
                               {SearchParameter::Kind::kChoice, "choice"},
                               {SearchParameter::Kind::kSameAs, "same_as"}};

std::string toml_text(const toml::node& n) {
  std::ostringstream out;
  n.visit([&out](const auto& value) { out << value; });
  return out.str();
}

bool is_integer_kind(SearchParameter::Kind k) {
  return k == SearchParameter::Kind::kLogUniformInt || k == SearchParameter::Kind::kUniformInt;
}

// A drawn value (TOML text) times a factor, at most `max` (if > 0): integers stay integers when the
// factor and the bound are.
std::string scale(const std::string& value, double times, double max) {
  if (times == 1 && max == 0) return value;
  const bool integer = value.find_first_of(".eE") == std::string::npos && times == std::floor(times) && max == std::floor(max);
  double x = std::stod(value) * times;
  if (max > 0) x = std::min(x, max);
  if (integer) return fmt::format("{}", static_cast<std::int64_t>(std::llround(x)));
  const std::string text = fmt::format("{:.4g}", x);
  return text.find_first_of(".e") == std::string::npos ? text + ".0" : text;
}

}  // namespace

std::string SearchParameter::describe() const {
  switch (kind) {
    case Kind::kLogUniform: return fmt::format("log-uniform in [{:g}, {:g}]", low, high);
    case Kind::kUniform: return fmt::format("uniform in [{:g}, {:g}]", low, high);
    case Kind::kLogUniformInt: return fmt::format("log-uniform integer in [{:g}, {:g}]", low, high);
    case Kind::kUniformInt: return fmt::format("uniform integer in [{:g}, {:g}]", low, high);
    case Kind::kChoice: return fmt::format("one of {}", fmt::join(choices, ", "));
    case Kind::kSameAs: {
      std::string d = times == 1 ? fmt::format("= {}", same_as) : fmt::format("= {} × {:g}", same_as, times);
      return max > 0 ? fmt::format("{}, at most {:g}", d, max) : d;
    }
  }
  return "";
}

SearchSpace SearchSpace::parse(const toml::table& space, const std::string& where) {
  SearchSpace s;
  for (const auto& [name, node] : space) {
    const std::string key(name.str());
    const auto fail = [&](const std::string& message) -> void {
      throw ConfigError(fmt::format("{}.\"{}\": {}", where, key, message));
    };
    const toml::table* spec = node.as_table();
    // same_as may come with times and max; every other distribution is the table's only entry.
    const bool tied = spec && spec->contains("same_as") &&
                      spec->size() == std::size_t{1} + spec->contains("times") + spec->contains("max");
    if (!spec || (spec->size() != 1 && !tied))
      fail("must be a table with one entry: log_uniform, uniform, log_uniform_int, uniform_int (= [low, high]), "
           "choice (= [values]) or same_as (= \"key\", optionally with times = factor and max = bound)");
    const auto entry = tied ? spec->find("same_as") : spec->begin();  // *entry lives in the iterator: keep it
    const toml::key& kind_name = entry->first;
    const toml::node& value = entry->second;
    SearchParameter p;
    p.key = key;
    const auto kind = std::find_if(std::begin(kKinds), std::end(kKinds),
                                   [&](const KindName& k) { return kind_name.str() == k.name; });
    if (kind == std::end(kKinds))
      fail(fmt::format("unknown distribution '{}' (log_uniform, uniform, log_uniform_int, uniform_int, choice, same_as)",
                       kind_name.str()));
    p.kind = kind->kind;
    if (p.kind == SearchParameter::Kind::kSameAs) {
      const auto* other = value.as_string();
      if (!other) fail("same_as takes the name of another key of the space, in quotes");
      p.same_as = other->get();
      if (spec->contains("times")) {
        const auto times = (*spec)["times"].value<double>();
        if (!times || !(*times > 0)) fail("times must be a number > 0");
        p.times = *times;
      }
      if (spec->contains("max")) {
        const auto max = (*spec)["max"].value<double>();
        if (!max || !(*max > 0)) fail("max must be a number > 0");
        p.max = *max;
      }
    } else if (p.kind == SearchParameter::Kind::kChoice) {
      const auto* values = value.as_array();
      if (!values || values->empty()) fail("choice takes a non-empty array of values");
      for (const auto& v : *values) p.choices.push_back(toml_text(v));
    } else {
      const auto* bounds = value.as_array();
      if (!bounds || bounds->size() != 2 || !(*bounds)[0].is_number() || !(*bounds)[1].is_number())
        fail(fmt::format("{} takes [low, high], two numbers", kind->name));
      p.low = (*bounds)[0].value<double>().value();
      p.high = (*bounds)[1].value<double>().value();
      if (!(p.low <= p.high)) fail(fmt::format("low {} is above high {}", p.low, p.high));
      const bool log = p.kind == SearchParameter::Kind::kLogUniform || p.kind == SearchParameter::Kind::kLogUniformInt;
      if (log && !(p.low > 0)) fail(fmt::format("a log-uniform range needs low > 0, got {}", p.low));
      if (is_integer_kind(p.kind) && (p.low != std::floor(p.low) || p.high != std::floor(p.high)))
        fail(fmt::format("an integer range needs integer bounds, got [{}, {}]", p.low, p.high));
    }
    s.parameters_.push_back(std::move(p));
  }
  for (const SearchParameter& p : s.parameters_) {
    if (p.kind != SearchParameter::Kind::kSameAs) continue;
    const auto target = std::find_if(s.parameters_.begin(), s.parameters_.end(),
                                     [&](const SearchParameter& q) { return q.key == p.same_as; });
    if (target == s.parameters_.end() || target->kind == SearchParameter::Kind::kSameAs)
      throw ConfigError(fmt::format("{}.\"{}\": same_as names '{}', which is not a drawn key of the space", where,
                                    p.key, p.same_as));
  }
  return s;
}

SearchDraw SearchSpace::draw(std::uint64_t seed, int index) const {
  const RandomStreams streams(seed);
  SearchDraw d;
  for (const SearchParameter& p : parameters_) {
    if (p.kind == SearchParameter::Kind::kSameAs) {
      d.emplace_back(p.key, "");
      continue;
    }
    // One stream per (draw, key): adding a key to the space leaves the other keys' draws unchanged.
    Rng rng = streams.stream(fmt::format("search/{}/{}", index, p.key));
    const double u = rng.uniform();
    std::string value;
    switch (p.kind) {
      case SearchParameter::Kind::kLogUniform:
        value = fmt::format("{:.4g}", std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low))));
        break;
      case SearchParameter::Kind::kUniform: value = fmt::format("{:.4g}", p.low + u * (p.high - p.low)); break;
      case SearchParameter::Kind::kLogUniformInt: {
        const double x = std::exp(std::log(p.low) + u * (std::log(p.high + 1) - std::log(p.low)));
        value = fmt::format("{}", static_cast<std::int64_t>(std::clamp(std::floor(x), p.low, p.high)));
        break;
      }
      case SearchParameter::Kind::kUniformInt:
        value = fmt::format("{}", static_cast<std::int64_t>(p.low) +
                                      static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(p.high - p.low) + 1)));
        break;
      case SearchParameter::Kind::kChoice: value = p.choices[rng.below(p.choices.size())]; break;
      case SearchParameter::Kind::kSameAs: break;
    }
    // A real drawn value must read back as a float even when it prints as a whole number.
    if ((p.kind == SearchParameter::Kind::kLogUniform || p.kind == SearchParameter::Kind::kUniform) &&
        value.find_first_of(".e") == std::string::npos)
      value += ".0";
    d.emplace_back(p.key, value);
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    if (parameters_[i].kind == SearchParameter::Kind::kSameAs)
      for (const auto& [key, value] : d)
        if (key == parameters_[i].same_as) d[i].second = scale(value, parameters_[i].times, parameters_[i].max);
  return d;
}

}  // namespace bilevel
