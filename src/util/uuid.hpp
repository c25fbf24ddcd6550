// Random (version 4) UUIDs for update and subscriber ids.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace mercure {

// Produces "urn:uuid:<v4 uuid>" strings from the kernel's CSPRNG, fetched in batches so an id
// costs no system call on average. One generator per event loop; not thread-safe.
class UuidGenerator {
public:
    // A new "urn:uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
    std::string next_urn();

private:
    void refill();
    std::array<std::uint8_t, 4096> pool_{};
    std::size_t used_ = sizeof(pool_);
};

} // namespace mercure
