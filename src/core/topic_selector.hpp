// TopicSelector: one compiled topic selector ("*", an exact IRI, or an RFC 6570 template).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/uri_template.hpp"

namespace mercure {

// A selector compiled once and shared (through SelectorPtr) by every subscription and claim
// that names it. Immutable after construction.
class TopicSelector {
public:
    enum class Kind { Any, Exact, Template };

    // Compiles a selector: "*" is Any; a valid URI template is Template; anything else Exact.
    explicit TopicSelector(std::string text);

    // True when the selector matches `topic`: "*", byte-for-byte equality (so a template also
    // matches itself literally), or a template expansion.
    bool matches(std::string_view topic) const;

    Kind kind() const { return kind_; }
    const std::string& text() const { return text_; }

private:
    std::string text_;
    Kind kind_;
    std::optional<UriTemplate> template_;
};

using SelectorPtr = std::shared_ptr<const TopicSelector>;

} // namespace mercure
