#pragma once
// Errors bilevel reports to its users. Each message names what is wrong (file, field, value) so the
// user can fix it without reading code.
#include <stdexcept>
#include <string>

namespace bilevel {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration file or command-line value is wrong.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// An option struct holds an invalid combination (checked before any work starts).
class InvalidOptions : public Error {
 public:
  using Error::Error;
};

// A dataset file is missing, unreadable or malformed.
class DataError : public Error {
 public:
  using Error::Error;
};

// A computation produced NaN/Inf or diverged.
class NumericalError : public Error {
 public:
  using Error::Error;
};

}  // namespace bilevel
