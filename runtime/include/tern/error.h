// tern's one exception type: every bad input ends in a tern::Error whose message
// names the thing that was wrong (file, key, tensor, argument) and what was
// expected.
#pragma once

#include <stdexcept>
#include <string>

namespace tern {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace tern
