// JsonPtr: RAII ownership of json-c objects, and a strict bounded parser.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <json-c/json.h>

namespace mercure {

// Drops one json-c reference.
struct JsonObjectPut {
    void operator()(json_object* object) const noexcept { json_object_put(object); }
};

// Owns one reference to a json_object. Borrowed children (json_object_object_get_ex,
// json_object_array_get_idx) stay plain pointers that live as long as their owner.
using JsonPtr = std::unique_ptr<json_object, JsonObjectPut>;

// Owns a json_tokener.
struct JsonTokenerFree {
    void operator()(json_tokener* tokener) const noexcept { json_tokener_free(tokener); }
};
using JsonTokenerPtr = std::unique_ptr<json_tokener, JsonTokenerFree>;

// Parses exactly one JSON text from `text` in strict mode with UTF-8 validation and a nesting
// limit; null on a syntax error, excess depth, or anything but whitespace after the value.
// A JSON `null` also yields null: callers that must accept it should check for it first.
// (json-c 0.16 still accepts single-quoted strings in strict mode.)
inline JsonPtr json_parse_strict(std::string_view text, int max_depth = 32)
{
    if (text.size() >= static_cast<std::size_t>(INT32_MAX)) {
        return nullptr;
    }
    JsonTokenerPtr tokener(json_tokener_new_ex(max_depth));
    if (!tokener) {
        return nullptr;
    }
    json_tokener_set_flags(tokener.get(), JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    // The terminating NUL is handed to the tokener too, so that a top-level number is complete
    // rather than "to be continued".
    const std::string copy(text);
    JsonPtr object(json_tokener_parse_ex(tokener.get(), copy.c_str(), static_cast<int>(copy.size() + 1)));
    if (json_tokener_get_error(tokener.get()) != json_tokener_success) {
        return nullptr;
    }
    // json-c stops after the value; anything left over must be whitespace.
    for (std::size_t i = json_tokener_get_parse_end(tokener.get()); i < copy.size(); ++i) {
        const char c = copy[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return nullptr;
        }
    }
    return object;
}

// Serializes compactly, without escaping '/', e.g. {"a":["b/c"]}.
inline std::string json_to_compact_string(json_object* object)
{
    std::size_t length = 0;
    const char* text = json_object_to_json_string_length(
        object, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &length);
    return text ? std::string(text, length) : std::string();
}

} // namespace mercure
