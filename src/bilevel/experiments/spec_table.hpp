#pragma once
// A TOML table of an experiment or search spec, read through typed getters that remember the keys
// asked for, so that a misspelt key is an error (finish()) rather than silently ignored. Errors are
// prefixed with `where` (file and table path).
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "bilevel/core/error.hpp"

namespace bilevel {

class SpecTable {
 public:
  SpecTable(const toml::table& t, std::string where) : t_(t), where_(std::move(where)) {}

  [[noreturn]] void fail(std::string_view key, std::string_view message) const {
    throw ConfigError(fmt::format("{}{}: {}", where_, key, message));
  }
  std::string string(std::string_view key, std::string fallback, bool required = false) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) {
      if (required) fail(key, "is required");
      return fallback;
    }
    if (!n->is_string()) fail(key, "must be a string");
    return n->as_string()->get();
  }
  bool boolean(std::string_view key, bool fallback) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return fallback;
    if (!n->is_boolean()) fail(key, "must be true or false");
    return n->as_boolean()->get();
  }
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return fallback;
    if (!n->is_integer()) fail(key, "must be an integer");
    const std::int64_t v = n->as_integer()->get();
    if (v < min) fail(key, fmt::format("must be >= {}, got {}", min, v));
    return v;
  }
  std::vector<std::string> strings(std::string_view key) {
    used_.insert(std::string(key));
    std::vector<std::string> out;
    const toml::node* n = t_.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) fail(key, "must be an array of strings");
    for (const auto& v : *a) {
      if (!v.is_string()) fail(key, "must be an array of strings");
      out.push_back(v.as_string()->get());
    }
    return out;
  }
  std::vector<std::int64_t> integers(std::string_view key, std::vector<std::int64_t> fallback) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return fallback;
    const toml::array* a = n->as_array();
    if (!a || a->empty()) fail(key, "must be a non-empty array of integers");
    std::vector<std::int64_t> out;
    for (const auto& v : *a) {
      if (!v.is_integer()) fail(key, "must be a non-empty array of integers");
      out.push_back(v.as_integer()->get());
    }
    return out;
  }
  const toml::table* table(std::string_view key) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, "must be a table");
    return n->as_table();
  }
  const toml::array* tables(std::string_view key) {
    used_.insert(std::string(key));
    const toml::node* n = t_.get(key);
    if (!n) return nullptr;
    if (!n->is_array_of_tables()) fail(key, fmt::format("must be an array of tables ([[{}]])", key));
    return n->as_array();
  }
  void finish() const {
    for (const auto& [key, value] : t_)
      if (!used_.contains(std::string(key.str()))) fail(key.str(), "unknown key");
  }

 private:
  const toml::table& t_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace bilevel
