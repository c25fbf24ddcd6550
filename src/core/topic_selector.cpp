// TopicSelector: one compiled topic selector ("*", an exact IRI, or an RFC 6570 template).
#include "core/topic_selector.hpp"

namespace mercure {

TopicSelector::TopicSelector(std::string text) : text_(std::move(text)), kind_(Kind::Exact)
{
    if (text_ == "*") {
        kind_ = Kind::Any;
    } else if (text_.find('{') != std::string::npos) {
        template_ = UriTemplate::compile(text_);
        if (template_)
            kind_ = Kind::Template;
    }
}

bool TopicSelector::matches(std::string_view topic) const
{
    switch (kind_) {
    case Kind::Any:
        return true;
    case Kind::Exact:
        return topic == text_;
    case Kind::Template:
        if (topic == text_)
            return true;
        if (!topic.starts_with(template_->literal_prefix()))
            return false;
        return template_->matches(topic);
    }
    return false;
}

} // namespace mercure
