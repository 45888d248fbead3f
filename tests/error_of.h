// The message of the tern::Error a call throws, for tests of error messages.
#pragma once

#include <functional>
#include <string>

#include "tern/error.h"

namespace tern::test {

// What fn() throws as tern::Error, or "" when it throws nothing.
inline std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace tern::test
