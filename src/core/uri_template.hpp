// UriTemplate: an RFC 6570 URI template compiled into a linear-time topic matcher.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace mercure {

class UriTemplateProgram;  // compiled matcher, private to uri_template.cpp

// A compiled template. Matching simulates an automaton over the topic, so its cost is
// O(topic length x template size) whatever a client sends: there is no backtracking.
class UriTemplate {
public:
    // Compiles `text`. Returns nullopt when the text holds no expression or is not a valid
    // RFC 6570 template (unbalanced braces, bad operator or variable name): such a selector is
    // then only a literal.
    static std::optional<UriTemplate> compile(std::string_view text);

    // True when some expansion of the template equals `topic`.
    bool matches(std::string_view topic) const;

    // The literal text before the first expression; every matching topic starts with it.
    std::string_view literal_prefix() const;

    UriTemplate(UriTemplate&&) noexcept;
    UriTemplate& operator=(UriTemplate&&) noexcept;
    ~UriTemplate();

private:
    explicit UriTemplate(std::unique_ptr<UriTemplateProgram> program);
    std::unique_ptr<UriTemplateProgram> program_;
};

} // namespace mercure
