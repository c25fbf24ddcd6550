// Shared include for cmocka unit tests: cmocka 1.1.5 has no C++ guard.
#pragma once
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <csetjmp>
extern "C" {
#include <cmocka.h>
}
