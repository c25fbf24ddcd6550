// History records: the byte encoding of one stored update in the durable history (pure).
#include "store/history_record.hpp"

#include <optional>

namespace mercure {

namespace {

// Version byte at the start of every record.
constexpr std::uint8_t record_version = 1;
constexpr std::uint8_t flag_private = 1;
constexpr std::uint8_t flag_retry = 2;
// Bytes before the id in a record: version, flags, published_at_ms, retry.
constexpr std::size_t record_header = 1 + 1 + 8 + 8;

// Appends the low `bytes` bytes of `n`, little-endian.
void put_le(std::string& out, std::uint64_t n, int bytes)
{
    for (int i = 0; i < bytes; ++i, n >>= 8)
        out.push_back(static_cast<char>(n & 0xff));
}

// Appends a u32 length and the bytes.
void put_string(std::string& out, std::string_view s)
{
    put_le(out, s.size(), 4);
    out.append(s);
}

// Bounds-checked reading of a record; any overrun clears ok.
class RecordReader {
public:
    explicit RecordReader(std::string_view in) : in_(in) {}

    std::uint64_t number(std::size_t bytes)
    {
        if (!ok || in_.size() - pos_ < bytes) {
            ok = false;
            return 0;
        }
        std::uint64_t n = 0;
        for (std::size_t i = bytes; i-- > 0;)
            n = (n << 8) | static_cast<unsigned char>(in_[pos_ + i]);
        pos_ += bytes;
        return n;
    }
    std::string_view string()
    {
        std::size_t size = static_cast<std::size_t>(number(4));
        if (!ok || in_.size() - pos_ < size) {
            ok = false;
            return {};
        }
        std::string_view s = in_.substr(pos_, size);
        pos_ += size;
        return s;
    }
    std::size_t left() const { return in_.size() - pos_; }

    bool ok = true;

private:
    std::string_view in_;
    std::size_t pos_ = 0;
};

} // namespace

std::size_t record_size(const Update& update)
{
    std::size_t size = record_header + 4 + update.id.size() + 4 + update.type.size() + 4 + 4 + update.data.size();
    for (const std::string& topic : update.topics)
        size += 4 + topic.size();
    return size;
}

void encode_record(const Update& update, std::int64_t published_at_ms, std::string& out)
{
    out.clear();
    out.reserve(record_size(update));
    out.push_back(static_cast<char>(record_version));
    std::uint8_t flags = (update.is_private ? flag_private : 0) | (update.retry ? flag_retry : 0);
    out.push_back(static_cast<char>(flags));
    put_le(out, static_cast<std::uint64_t>(published_at_ms), 8);
    put_le(out, update.retry.value_or(0), 8);
    put_string(out, update.id);
    put_string(out, update.type);
    put_le(out, update.topics.size(), 4);
    for (const std::string& topic : update.topics)
        put_string(out, topic);
    put_string(out, update.data);
}

bool decode_head(std::string_view in, RecordHead& head)
{
    RecordReader r(in);
    if (r.number(1) != record_version)
        return false;
    r.number(1);
    head.published_at_ms = static_cast<std::int64_t>(r.number(8));
    r.number(8);
    head.id = r.string();
    return r.ok;
}

bool decode_record(std::string_view in, Update& update, std::int64_t& published_at_ms)
{
    RecordReader r(in);
    if (r.number(1) != record_version)
        return false;
    auto flags = static_cast<std::uint8_t>(r.number(1));
    published_at_ms = static_cast<std::int64_t>(r.number(8));
    std::uint64_t retry = r.number(8);
    update.id = r.string();
    update.type = r.string();
    std::uint64_t topics = r.number(4);
    if (!r.ok || topics > r.left() / 4)
        return false;
    update.topics.clear();
    update.topics.reserve(static_cast<std::size_t>(topics));
    for (std::uint64_t i = 0; i < topics && r.ok; ++i)
        update.topics.emplace_back(r.string());
    update.data = r.string();
    update.is_private = (flags & flag_private) != 0;
    update.retry = (flags & flag_retry) ? std::optional<std::uint64_t>(retry) : std::nullopt;
    return r.ok && r.left() == 0 && (flags & ~(flag_private | flag_retry)) == 0;
}

} // namespace mercure
