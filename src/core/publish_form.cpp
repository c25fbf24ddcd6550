// Parsing and validation of a publish request's form body into an Update.
#include "core/publish_form.hpp"

#include <charconv>

#include "util/percent_encoding.hpp"

namespace mercure {

namespace {

bool has_stream_breaking_byte(std::string_view s)
{
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Strips "scheme://authority" from an absolute IRI, leaving its path and what follows.
std::string_view path_of(std::string_view iri)
{
    std::size_t colon = iri.find("://");
    if (colon == std::string_view::npos || colon == 0)
        return iri;
    for (std::size_t i = 0; i < colon; ++i) {
        char c = iri[i];
        bool scheme_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '+' || c == '-' || c == '.';
        if (!scheme_char)
            return iri;
    }
    std::string_view rest = iri.substr(colon + 3);
    std::size_t slash = rest.find_first_of("/?#");
    return slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
}

} // namespace

bool is_reserved_topic(std::string_view topic)
{
    static constexpr std::string_view prefix = "/.well-known/mercure";
    std::string_view path = path_of(topic);
    if (!path.starts_with(prefix))
        return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/' || path[prefix.size()] == '?' ||
           path[prefix.size()] == '#';
}

std::variant<Update, PublishRefusal> parse_publish_form(std::string_view body, std::size_t max_topics,
                                                       std::size_t max_topic_length)
{
    auto pairs = parse_urlencoded(body);
    if (!pairs)
        return PublishRefusal{400, "Invalid form body: malformed percent-encoding."};

    Update update;
    for (auto& [key, value] : *pairs) {
        if (key == "topic") {
            update.topics.push_back(std::move(value));
        } else if (key == "data") {
            update.data = std::move(value);
        } else if (key == "private") {
            update.is_private = true;
        } else if (key == "id") {
            update.id = std::move(value);
        } else if (key == "type") {
            update.type = std::move(value);
        } else if (key == "retry") {
            std::uint64_t retry = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), retry);
            if (value.empty() || ec != std::errc() || end != value.data() + value.size())
                return PublishRefusal{400, "Invalid \"retry\" parameter: must be a non-negative integer."};
            update.retry = retry;
        }
    }

    if (update.topics.empty())
        return PublishRefusal{400, "Missing \"topic\" parameter."};
    if (update.topics.size() > max_topics)
        return PublishRefusal{400, "Too many \"topic\" parameters (limit " + std::to_string(max_topics) + ")."};
    for (const auto& topic : update.topics) {
        if (topic.empty())
            return PublishRefusal{400, "Invalid \"topic\" parameter: a topic must not be empty."};
        if (topic.size() > max_topic_length)
            return PublishRefusal{400, "Invalid \"topic\" parameter: longer than " + std::to_string(max_topic_length) +
                                           " bytes."};
        if (is_reserved_topic(topic))
            return PublishRefusal{403, "Forbidden topic: the /.well-known/mercure namespace is reserved to the hub."};
    }
    if (has_stream_breaking_byte(update.id))
        return PublishRefusal{400, "Invalid \"id\" parameter: must not contain CR, LF or NUL."};
    if (update.id.starts_with('#'))
        return PublishRefusal{400, "Invalid \"id\" parameter: must not start with \"#\"."};
    if (has_stream_breaking_byte(update.type))
        return PublishRefusal{400, "Invalid \"type\" parameter: must not contain CR, LF or NUL."};
    return update;
}

} // namespace mercure
