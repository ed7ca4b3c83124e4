#pragma once
// A TOML configuration with command-line overrides (dotted.key=value), read through typed getters
// that remember every key they were asked for. Whatever the file holds that nobody asked for is an
// unknown key and an error (finish()), with the nearest known key suggested. Every value used,
// defaults included, is recorded in resolved(), which writes back as a complete config.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "bilevel/core/error.hpp"

namespace bilevel {

class Config {
 public:
  // Parses `path` (TOML) and applies overrides of the form dotted.key=value (value in TOML syntax;
  // a bare word is taken as a string). Throws ConfigError naming the file, line or override.
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {});
  static Config parse(std::string_view text, std::string source, const std::vector<std::string>& overrides = {});

  const std::string& source() const { return source_; }

  // Typed getters: the value at `key`, or `fallback` when absent. A present value of the wrong type is
  // an error that names the key, the expected type and the value found.
  std::int64_t get_int(std::string_view key, std::int64_t fallback);
  double get_double(std::string_view key, double fallback);
  bool get_bool(std::string_view key, bool fallback);
  std::string get_string(std::string_view key, std::string_view fallback);
  // A string from a fixed set of choices; anything else is an error listing the choices.
  std::string get_choice(std::string_view key, std::string_view fallback, const std::vector<std::string>& choices);
  // A number (broadcast to `size` entries) or an array of exactly `size` numbers.
  std::vector<double> get_vector(std::string_view key, double fallback, std::size_t size);
  // An array of integers of any length (at least one), or `fallback` when absent.
  std::vector<std::int64_t> get_int_list(std::string_view key, const std::vector<std::int64_t>& fallback);

  bool has(std::string_view key) const;
  // Throws ConfigError for the first key present in the config that no getter asked for.
  void finish() const;
  // Every value the getters returned, as a TOML table.
  const toml::table& resolved() const { return resolved_; }

  // An error message prefixed with the source and key.
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;

 private:
  Config(toml::table table, std::string source) : table_(std::move(table)), source_(std::move(source)) {}
  const toml::node* find(std::string_view key);
  template <class V>
  void record(std::string_view key, V&& value);  // defined and instantiated in config.cpp

  toml::table table_;
  std::string source_;
  std::set<std::string, std::less<>> used_;
  toml::table resolved_;
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace bilevel
