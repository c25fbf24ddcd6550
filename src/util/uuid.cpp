// Random (version 4) UUIDs for update and subscriber ids.
#include "util/uuid.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace mercure {

// Fills the pool from getrandom(); failure here means the kernel has no entropy source, which
// we treat as fatal rather than hand out predictable ids.
void UuidGenerator::refill()
{
    std::size_t filled = 0;
    while (filled < pool_.size()) {
        ssize_t n = getrandom(pool_.data() + filled, pool_.size() - filled, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            std::perror("mercure: getrandom");
            std::abort();
        }
        filled += static_cast<std::size_t>(n);
    }
    used_ = 0;
}

std::string UuidGenerator::next_urn()
{
    if (used_ + 16 > pool_.size())
        refill();
    std::uint8_t b[16];
    for (auto& byte : b)
        byte = pool_[used_++];
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    static const char hex[] = "0123456789abcdef";
    std::string out = "urn:uuid:";
    out.reserve(45);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(hex[b[i] >> 4]);
        out.push_back(hex[b[i] & 0x0f]);
    }
    return out;
}

} // namespace mercure
