// FUZZ_CHECK: the invariant check shared by the libFuzzer drivers of tests/fuzz.
#pragma once
#include <cstdio>
#include <cstdlib>

// Aborts with the failed condition when an invariant does not hold; libFuzzer then saves the
// input as a crash artifact. Active whatever NDEBUG says, unlike assert().
#define FUZZ_CHECK(condition)                                                                   \
    do {                                                                                        \
        if (!(condition)) {                                                                     \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                       \
        }                                                                                       \
    } while (0)
