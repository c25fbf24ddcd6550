// History records: the byte encoding of one stored update in the durable history (pure).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/update.hpp"

namespace mercure {

// Size in bytes of the record encode_record() makes of this update.
std::size_t record_size(const Update& update);

// Encodes a record (version 1): version u8, flags u8, published_at_ms i64, retry u64, then
// id, type, topic count u32 with each topic, data; strings are u32 length + bytes, numbers
// little-endian. The id comes first so retention reads it without decoding the rest.
// `out` is replaced.
void encode_record(const Update& update, std::int64_t published_at_ms, std::string& out);

// The part of a record retention needs: when it was published and its id (a view into the
// record's bytes).
struct RecordHead {
    std::int64_t published_at_ms = 0;
    std::string_view id;
};

// Decodes the head of a record; false when it is malformed.
bool decode_head(std::string_view in, RecordHead& head);

// Decodes a whole record; false when it is malformed or has bytes left over.
bool decode_record(std::string_view in, Update& update, std::int64_t& published_at_ms);

} // namespace mercure
