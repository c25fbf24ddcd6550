// Shared include for cmocka unit tests: cmocka 1.1.5 has no C++ guard.
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <csetjmp>
// cmocka defines macros such as fail(): pull in the standard headers that declare members with
// those names first, so including this header before others is safe.
#include <algorithm>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>
extern "C" {
#include <cmocka.h>
}
