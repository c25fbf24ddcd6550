// Stream entries: how an update travels through the Redis stream, and how a subscription is
// kept in a node's presence hash.
#include "cluster/stream_entry.hpp"

#include <charconv>
#include <cstdint>
#include <utility>

namespace mercure {

namespace {

// "<ms>-<seq>" as two numbers; {0, 0} for anything unparsable.
std::pair<std::uint64_t, std::uint64_t> split_id(std::string_view id)
{
    std::size_t dash = id.find('-');
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    std::string_view first = id.substr(0, dash);
    std::from_chars(first.data(), first.data() + first.size(), ms);
    if (dash != std::string_view::npos) {
        std::string_view second = id.substr(dash + 1);
        std::from_chars(second.data(), second.data() + second.size(), seq);
    }
    return {ms, seq};
}

// "<length>:<bytes>": binary safe, and simple enough for the Redis Lua reaper to split.
void put_length_prefixed(std::string& out, std::string_view bytes)
{
    out += std::to_string(bytes.size());
    out += ':';
    out += bytes;
}

// The strings of a "<length>:<bytes>" sequence, or why it is malformed.
Result<std::vector<std::string>> split_length_prefixed(std::string_view text, const char* what)
{
    std::vector<std::string> parts;
    while (!text.empty()) {
        std::size_t colon = text.find(':');
        if (colon == std::string_view::npos)
            return Error{std::string("truncated ") + what};
        std::size_t length = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + colon, length);
        if (ec != std::errc() || end != text.data() + colon || length > text.size() - colon - 1)
            return Error{std::string("malformed ") + what};
        parts.emplace_back(text.substr(colon + 1, length));
        text.remove_prefix(colon + 1 + length);
    }
    return parts;
}

} // namespace

std::vector<std::string> encode_update_fields(const Update& update)
{
    std::vector<std::string> fields;
    fields.reserve(4 + 2 * update.topics.size() + 6);
    fields.emplace_back("i");
    fields.push_back(update.id);
    for (const std::string& topic : update.topics) {
        fields.emplace_back("t");
        fields.push_back(topic);
    }
    fields.emplace_back("d");
    fields.push_back(update.data);
    if (!update.type.empty()) {
        fields.emplace_back("y");
        fields.push_back(update.type);
    }
    if (update.retry) {
        fields.emplace_back("r");
        fields.push_back(std::to_string(*update.retry));
    }
    if (update.is_private) {
        fields.emplace_back("p");
        fields.emplace_back("1");
    }
    return fields;
}

Result<Update> decode_update_fields(const std::vector<std::string_view>& fields)
{
    if (fields.size() % 2 != 0)
        return Error{"odd number of fields"};
    Update update;
    bool has_id = false;
    for (std::size_t i = 0; i < fields.size(); i += 2) {
        std::string_view name = fields[i];
        std::string_view value = fields[i + 1];
        if (name == "i") {
            update.id = std::string(value);
            has_id = true;
        } else if (name == "t") {
            update.topics.emplace_back(value);
        } else if (name == "d") {
            update.data = std::string(value);
        } else if (name == "y") {
            update.type = std::string(value);
        } else if (name == "r") {
            std::uint64_t retry = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), retry);
            if (ec != std::errc() || end != value.data() + value.size())
                return Error{"invalid retry field"};
            update.retry = retry;
        } else if (name == "p") {
            update.is_private = value == "1";
        }
    }
    if (!has_id || update.id.empty())
        return Error{"entry without an update id"};
    if (update.topics.empty())
        return Error{"entry without a topic"};
    return update;
}

std::string encode_presence(const PresenceRecord& record)
{
    std::string out = "p1";
    put_length_prefixed(out, record.id);
    put_length_prefixed(out, record.payload_json);
    for (const std::string& topic : record.topics)
        put_length_prefixed(out, topic);
    return out;
}

Result<PresenceRecord> decode_presence(std::string_view text)
{
    if (!text.starts_with("p1"))
        return Error{"unknown presence record version"};
    auto parts = split_length_prefixed(text.substr(2), "presence record");
    if (!parts)
        return parts.error();
    if (parts->size() < 2)
        return Error{"presence record without id or payload"};
    PresenceRecord record;
    record.id = std::move((*parts)[0]);
    record.payload_json = std::move((*parts)[1]);
    record.topics.assign(std::make_move_iterator(parts->begin() + 2), std::make_move_iterator(parts->end()));
    return record;
}

std::string encode_farewell(const std::vector<Update>& departures)
{
    std::string out = "f1";
    for (const Update& departure : departures) {
        std::string entry;
        for (const std::string& field : encode_update_fields(departure))
            put_length_prefixed(entry, field);
        put_length_prefixed(out, entry);
    }
    return out;
}

Result<std::vector<Update>> decode_farewell(std::string_view text)
{
    if (!text.starts_with("f1"))
        return Error{"unknown farewell version"};
    auto entries = split_length_prefixed(text.substr(2), "farewell");
    if (!entries)
        return entries.error();
    std::vector<Update> departures;
    for (const std::string& entry : *entries) {
        auto fields = split_length_prefixed(entry, "farewell entry");
        if (!fields)
            return fields.error();
        std::vector<std::string_view> views(fields->begin(), fields->end());
        auto update = decode_update_fields(views);
        if (!update)
            return update.error();
        departures.push_back(std::move(*update));
    }
    return departures;
}

bool stream_id_after(std::string_view a, std::string_view b)
{
    return split_id(a) > split_id(b);
}

std::int64_t stream_id_ms(std::string_view id)
{
    return static_cast<std::int64_t>(split_id(id).first);
}

} // namespace mercure
