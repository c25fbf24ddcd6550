// Parsing and validation of a publish request's form body into an Update.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "core/update.hpp"

namespace mercure {

// A refused publish: the HTTP status to answer and a one-line reason for the body.
struct PublishRefusal {
    int status;
    std::string reason;
};

// Parses an application/x-www-form-urlencoded publish body (fields topic, data, private, id,
// type, retry; others ignored). The id stays empty when the publisher gave none: the hub
// assigns one. Refuses with 400 (malformed, missing topic, bad retry, CR/LF/NUL in id or type,
// id starting with '#', too many topics) or 403 (a topic in the hub's own namespace).
std::variant<Update, PublishRefusal> parse_publish_form(std::string_view body, std::size_t max_topics,
                                                       std::size_t max_topic_length = 2048);

// True when `topic` names a resource under the hub's own "/.well-known/mercure" path, either as
// a path or inside an absolute IRI: publishers must not forge the hub's own events.
bool is_reserved_topic(std::string_view topic);

} // namespace mercure
