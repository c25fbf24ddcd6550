// HttpRequest: one parsed HTTP/1.x request.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercure {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string method;
    std::string target;      // as sent (origin-form, or the path of an absolute-form target)
    std::string path;        // target before '?', not decoded
    std::string query;       // target after '?', not decoded
    int minor_version = 1;   // HTTP/1.<minor>
    HeaderList headers;      // names lower-cased, values trimmed, in arrival order
    std::string body;

    // The first header with this lower-case name.
    std::optional<std::string_view> header(std::string_view lower_name) const
    {
        for (const auto& [name, value] : headers)
            if (name == lower_name)
                return std::string_view(value);
        return std::nullopt;
    }

    // HTTP/1.1 keeps the connection unless "Connection: close"; HTTP/1.0 only with keep-alive.
    bool keep_alive() const;
};

} // namespace mercure
