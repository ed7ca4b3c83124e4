#include "bilevel/cli/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

namespace bilevel {
namespace {

std::vector<std::string> split_key(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string describe(const toml::node& n) {
  std::ostringstream s;
  if (n.is_string()) {
    s << '"' << n.value_or(std::string()) << '"';
  } else if (n.is_table()) {
    s << "a table";
  } else {
    n.visit([&](auto&& v) { s << v; });
  }
  return s.str();
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "number";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    default: return "value";
  }
}

// All leaf keys of a table, dotted.
void collect_keys(const toml::table& t, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& [k, v] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      collect_keys(*sub, key, out);
    } else {
      out.push_back(key);
    }
  }
}

// Inserts value (any toml node type) at a dotted path, creating tables on the way.
template <class V>
void insert_at(toml::table& root, std::string_view key, V&& value, const std::string& where) {
  const auto parts = split_key(key);
  toml::table* t = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    auto* node = t->get(parts[i]);
    if (!node) {
      t->insert(parts[i], toml::table{});
      node = t->get(parts[i]);
    }
    t = node->as_table();
    if (!t) throw ConfigError(fmt::format("{}: cannot set '{}': '{}' is not a table", where, key, parts[i]));
  }
  toml::node* existing = t->get(parts.back());
  if (existing && existing->is_table())
    throw ConfigError(fmt::format("{}: cannot set '{}': it is a table, give one of its keys", where, key));
  t->insert_or_assign(parts.back(), std::forward<V>(value));
}

void apply_override(toml::table& table, const std::string& source, const std::string& item) {
  const auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("override '{}' is not of the form key=value", item));
  const std::string key = item.substr(0, eq);
  const std::string text = item.substr(eq + 1);
  for (const auto& part : split_key(key))
    if (part.empty()) throw ConfigError(fmt::format("override '{}': the key '{}' has an empty part", item, key));
  toml::table parsed;
  try {
    parsed = toml::parse("value = " + text);
  } catch (const toml::parse_error&) {
    // A bare word such as method=cg is meant as a string.
    parsed.insert("value", text);
  }
  parsed.get("value")->visit([&](auto&& v) { insert_at(table, key, std::move(v), source); });
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

Config Config::load(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the config file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, overrides);
}

Config Config::parse(std::string_view text, std::string source, const std::vector<std::string>& overrides) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column,
                                  e.description()));
  }
  for (const auto& item : overrides) apply_override(table, source, item);
  return Config(std::move(table), std::move(source));
}

void Config::fail(std::string_view key, std::string_view message) const {
  throw ConfigError(fmt::format("{}: {}: {}", source_, key, message));
}

const toml::node* Config::find(std::string_view key) {
  used_.insert(std::string(key));
  const toml::node* n = &static_cast<const toml::node&>(table_);
  for (const auto& part : split_key(key)) {
    const auto* t = n->as_table();
    if (!t) return nullptr;
    n = t->get(part);
    if (!n) return nullptr;
  }
  if (n->is_table()) fail(key, "expected a value, found a table");
  return n;
}

bool Config::has(std::string_view key) const {
  return static_cast<bool>(toml::node_view<const toml::node>(table_).at_path(key));
}

template <class V>
void Config::record(std::string_view key, V&& value) {
  insert_at(resolved_, key, std::forward<V>(value), source_);
}

std::int64_t Config::get_int(std::string_view key, std::int64_t fallback) {
  const toml::node* n = find(key);
  std::int64_t v = fallback;
  if (n) {
    if (auto i = n->value_exact<std::int64_t>()) {
      v = *i;
    } else if (auto d = n->value_exact<double>(); d && std::floor(*d) == *d && std::abs(*d) < 9e15) {
      v = static_cast<std::int64_t>(*d);  // 1e4 written as a float is still a whole number
    } else {
      fail(key, fmt::format("expected an integer, got {} {}", type_name(*n), describe(*n)));
    }
  }
  record(key, toml::value<std::int64_t>(v));
  return v;
}

double Config::get_double(std::string_view key, double fallback) {
  const toml::node* n = find(key);
  double v = fallback;
  if (n) {
    if (auto d = n->value<double>(); d && (n->is_floating_point() || n->is_integer())) {
      v = *d;
    } else {
      fail(key, fmt::format("expected a number, got {} {}", type_name(*n), describe(*n)));
    }
    if (!std::isfinite(v)) fail(key, fmt::format("expected a finite number, got {}", v));
  }
  record(key, toml::value<double>(v));
  return v;
}

bool Config::get_bool(std::string_view key, bool fallback) {
  const toml::node* n = find(key);
  bool v = fallback;
  if (n) {
    if (auto b = n->value_exact<bool>()) {
      v = *b;
    } else {
      fail(key, fmt::format("expected true or false, got {} {}", type_name(*n), describe(*n)));
    }
  }
  record(key, toml::value<bool>(v));
  return v;
}

std::string Config::get_string(std::string_view key, std::string_view fallback) {
  const toml::node* n = find(key);
  std::string v(fallback);
  if (n) {
    if (auto s = n->value_exact<std::string>()) {
      v = *s;
    } else {
      fail(key, fmt::format("expected a string, got {} {}", type_name(*n), describe(*n)));
    }
  }
  record(key, toml::value<std::string>(v));
  return v;
}

std::string Config::get_choice(std::string_view key, std::string_view fallback, const std::vector<std::string>& choices) {
  const std::string v = get_string(key, fallback);
  if (std::find(choices.begin(), choices.end(), v) == choices.end())
    fail(key, fmt::format("'{}' is not one of: {}", v, fmt::join(choices, ", ")));
  return v;
}

std::vector<double> Config::get_vector(std::string_view key, double fallback, std::size_t size) {
  const toml::node* n = find(key);
  std::vector<double> v(size, fallback);
  if (n) {
    if (auto d = n->value<double>(); d && (n->is_floating_point() || n->is_integer())) {
      std::fill(v.begin(), v.end(), *d);
    } else if (const auto* a = n->as_array()) {
      if (a->size() != size) fail(key, fmt::format("expected {} numbers, got an array of {}", size, a->size()));
      for (std::size_t i = 0; i < size; ++i) {
        const auto x = (*a)[i].value<double>();
        if (!x || !((*a)[i].is_floating_point() || (*a)[i].is_integer()))
          fail(key, fmt::format("entry {} is {} {}, expected a number", i, type_name((*a)[i]), describe((*a)[i])));
        v[i] = *x;
      }
    } else {
      fail(key, fmt::format("expected a number or an array of {} numbers, got {} {}", size, type_name(*n), describe(*n)));
    }
    for (double x : v)
      if (!std::isfinite(x)) fail(key, "expected finite numbers");
  }
  toml::array out;
  for (double x : v) out.push_back(x);
  record(key, std::move(out));
  return v;
}

std::vector<std::int64_t> Config::get_int_list(std::string_view key, const std::vector<std::int64_t>& fallback) {
  const toml::node* n = find(key);
  std::vector<std::int64_t> v = fallback;
  if (n) {
    const auto* a = n->as_array();
    if (!a || a->empty()) fail(key, fmt::format("expected a non-empty array of integers, got {} {}", type_name(*n), describe(*n)));
    v.clear();
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (!(*a)[i].is_integer())
        fail(key, fmt::format("entry {} is {} {}, expected an integer", i, type_name((*a)[i]), describe((*a)[i])));
      v.push_back(*(*a)[i].value<std::int64_t>());
    }
  }
  toml::array out;
  for (auto x : v) out.push_back(x);
  record(key, std::move(out));
  return v;
}

void Config::finish() const {
  std::vector<std::string> keys;
  collect_keys(table_, "", keys);
  for (const auto& key : keys) {
    if (used_.count(key)) continue;
    std::string best;
    std::size_t best_distance = 4;  // suggest only near misses
    for (const auto& known : used_) {
      const auto d = edit_distance(key, known);
      if (d < best_distance) {
        best_distance = d;
        best = known;
      }
    }
    throw ConfigError(best.empty() ? fmt::format("{}: unknown key '{}'", source_, key)
                                   : fmt::format("{}: unknown key '{}' (did you mean '{}'?)", source_, key, best));
  }
}

}  // namespace bilevel
