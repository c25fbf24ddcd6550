// Text forms of durations and byte sizes.
#include "config/duration.hpp"

#include <cctype>

namespace mercure {

namespace {

// Anything above this is a typo, not a setting; it also keeps every product below 2^63.
constexpr std::uint64_t max_duration_ms = std::uint64_t{100} * 365 * 24 * 3600 * 1000;
constexpr std::uint64_t max_size_bytes = std::uint64_t{1} << 50;

// Reads a run of decimal digits at pos into out; false when there is none or it overflows.
bool read_number(std::string_view text, std::size_t& pos, std::uint64_t& out)
{
    const std::size_t start = pos;
    out = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        if (out > (UINT64_MAX - 9) / 10)
            return false;
        out = out * 10 + static_cast<std::uint64_t>(text[pos] - '0');
        ++pos;
    }
    return pos > start;
}

char lower(char c)
{
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

} // namespace

std::optional<Duration> parse_duration(std::string_view text)
{
    if (text.empty())
        return std::nullopt;
    std::size_t pos = 0;
    std::uint64_t total = 0;
    bool plain = true;
    while (pos < text.size()) {
        std::uint64_t n = 0;
        if (!read_number(text, pos, n) || n > max_duration_ms)
            return std::nullopt;
        const std::size_t unit_start = pos;
        while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos])))
            ++pos;
        const std::string_view unit = text.substr(unit_start, pos - unit_start);
        std::uint64_t scale = 0;
        if (unit.empty()) {
            if (!plain || pos != text.size())
                return std::nullopt;  // a bare number is only allowed alone: seconds
            scale = 1000;
        } else if (unit == "h") {
            scale = 3600 * 1000;
        } else if (unit == "m") {
            scale = 60 * 1000;
        } else if (unit == "s") {
            scale = 1000;
        } else if (unit == "ms") {
            scale = 1;
        } else {
            return std::nullopt;
        }
        plain = false;
        if (n > max_duration_ms / scale)
            return std::nullopt;
        total += n * scale;
        if (total > max_duration_ms)
            return std::nullopt;
    }
    return Duration(static_cast<Duration::rep>(total));
}

std::string format_duration(Duration d)
{
    auto ms = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    if (ms == 0)
        return "0s";
    std::string out;
    const std::pair<std::uint64_t, const char*> units[] = {
        {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}};
    for (const auto& [scale, name] : units) {
        if (ms >= scale) {
            out += std::to_string(ms / scale);
            out += name;
            ms %= scale;
        }
    }
    return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text)
{
    std::size_t pos = 0;
    std::uint64_t n = 0;
    if (!read_number(text, pos, n) || n > max_size_bytes)
        return std::nullopt;
    std::string suffix;
    for (; pos < text.size(); ++pos)
        suffix += lower(text[pos]);
    std::uint64_t scale = 1;
    if (!suffix.empty() && suffix != "b") {
        switch (suffix[0]) {
        case 'k': scale = std::uint64_t{1} << 10; break;
        case 'm': scale = std::uint64_t{1} << 20; break;
        case 'g': scale = std::uint64_t{1} << 30; break;
        default: return std::nullopt;
        }
        const std::string_view rest = std::string_view(suffix).substr(1);
        if (!rest.empty() && rest != "b" && rest != "ib")
            return std::nullopt;
    }
    if (n > max_size_bytes / scale)
        return std::nullopt;
    return n * scale;
}

std::string format_size(std::uint64_t bytes)
{
    const std::pair<std::uint64_t, const char*> units[] = {
        {std::uint64_t{1} << 30, "G"}, {std::uint64_t{1} << 20, "M"}, {std::uint64_t{1} << 10, "K"}};
    for (const auto& [scale, name] : units)
        if (bytes != 0 && bytes % scale == 0)
            return std::to_string(bytes / scale) + name;
    return std::to_string(bytes);
}

} // namespace mercure
