// Stream entries: how an update travels through the Redis stream, and how a subscription is
// kept in a node's presence hash. Pure encoding, unit-tested without Redis.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/update.hpp"
#include "util/result.hpp"

namespace mercure {

// The fields of an update's stream entry as a flat [name, value, name, value...] list, in this
// order: "i" id, one "t" per topic (the canonical topic first), "d" data, then "y" type,
// "r" retry and "p" "1" (private) when set.
std::vector<std::string> encode_update_fields(const Update& update);

// Decodes an entry's flat field list. Unknown fields are ignored (a newer node may add some);
// an entry without id or topic is refused with a one-line reason.
Result<Update> decode_update_fields(const std::vector<std::string_view>& fields);

// What the subscriptions API needs of a subscription on another node.
struct PresenceRecord {
    std::string id;                   // the subscriber's urn:uuid
    std::string payload_json;         // the token's mercure.payload, "" if none
    std::vector<std::string> topics;  // its topic selectors
};

// "p1" then every string as "<length>:<bytes>" (id, payload, each topic): binary safe.
std::string encode_presence(const PresenceRecord& record);
Result<PresenceRecord> decode_presence(std::string_view text);

// A subscription's departure events, written ahead into its node's farewell hash so that,
// should the node die, another node's reaper (a Lua script in Redis) can append them to the
// stream for it. "f1" then one "<length>:<bytes>" per event, whose bytes are the event's
// stream fields (encode_update_fields), each again as "<length>:<bytes>".
std::string encode_farewell(const std::vector<Update>& departures);
Result<std::vector<Update>> decode_farewell(std::string_view text);

// Redis stream entry ids "<ms>-<seq>" compare numerically; true when a is after b.
bool stream_id_after(std::string_view a, std::string_view b);

// The millisecond time part of a stream entry id (when Redis appended it); 0 if unparsable.
std::int64_t stream_id_ms(std::string_view id);

} // namespace mercure
