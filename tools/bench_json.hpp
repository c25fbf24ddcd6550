// JsonObject: a tiny ordered JSON object writer for mercure-bench's one-line report.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// Keys keep their insertion order; setting a key again appends another member (callers do
// not). Non-finite numbers become null.
class JsonObject {
public:
    JsonObject& set(const std::string& key, double value);
    JsonObject& set(const std::string& key, std::int64_t value);
    JsonObject& set(const std::string& key, std::uint64_t value);
    JsonObject& set(const std::string& key, std::uint32_t value) { return set(key, std::uint64_t{value}); }
    JsonObject& set(const std::string& key, int value) { return set(key, std::int64_t{value}); }
    JsonObject& set(const std::string& key, bool value);
    JsonObject& set(const std::string& key, const std::string& value);
    JsonObject& set(const std::string& key, const char* value) { return set(key, std::string(value)); }
    JsonObject& set(const std::string& key, const JsonObject& value);
    JsonObject& set(const std::string& key, const std::vector<double>& values);
    JsonObject& set(const std::string& key, const std::vector<std::string>& values);
    JsonObject& set_null(const std::string& key);

    bool empty() const { return members_.empty(); }
    // The object on one line.
    std::string str() const;

    // A JSON string literal.
    static std::string quote(const std::string& text);
    // A JSON number (null when not finite).
    static std::string number(double value);

private:
    std::vector<std::pair<std::string, std::string>> members_; // key, rendered value
};

} // namespace bench
