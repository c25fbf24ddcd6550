// The worker pipe protocol: message framing and the serialized result records.
#include "bench_wire.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace bench {

namespace {

struct Header {
    std::uint32_t type;
    std::uint32_t size;
};

// Refuses absurd sizes so a corrupted stream cannot make the parent allocate gigabytes.
constexpr std::uint32_t max_payload = 64 * 1024 * 1024;

} // namespace

void wire_put_text(std::string& out, std::string_view text)
{
    wire_put(out, static_cast<std::uint32_t>(text.size()));
    out.append(text);
}

bool wire_take_text(std::string_view& in, std::string& text)
{
    std::uint32_t size = 0;
    if (!wire_take(in, size) || in.size() < size)
        return false;
    text.assign(in.substr(0, size));
    in.remove_prefix(size);
    return true;
}

std::string ConnectResult::serialize() const
{
    std::string out;
    wire_put(out, established);
    wire_put(out, failed);
    wire_put(out, elapsed_ns);
    wire_put_text(out, first_error);
    return out;
}

bool ConnectResult::deserialize(std::string_view in)
{
    return wire_take(in, established) && wire_take(in, failed) && wire_take(in, elapsed_ns)
        && wire_take_text(in, first_error);
}

void WorkerStats::merge(const WorkerStats& other)
{
    received += other.received;
    ignored += other.ignored;
    malformed += other.malformed;
    disconnects += other.disconnects;
    open += other.open;
    last_receive_ns = std::max(last_receive_ns, other.last_receive_ns);
    all.merge(other.all);
    if (rounds.size() < other.rounds.size())
        rounds.resize(other.rounds.size());
    for (std::size_t i = 0; i < other.rounds.size(); ++i)
        rounds[i].merge(other.rounds[i]);
    if (first_error.empty())
        first_error = other.first_error;
}

std::string WorkerStats::serialize() const
{
    std::string out;
    wire_put(out, received);
    wire_put(out, ignored);
    wire_put(out, malformed);
    wire_put(out, disconnects);
    wire_put(out, open);
    wire_put(out, last_receive_ns);
    all.serialize(out);
    wire_put(out, static_cast<std::uint32_t>(rounds.size()));
    for (const auto& round : rounds)
        round.serialize(out);
    wire_put_text(out, first_error);
    return out;
}

bool WorkerStats::deserialize(std::string_view in)
{
    std::uint32_t count = 0;
    if (!wire_take(in, received) || !wire_take(in, ignored) || !wire_take(in, malformed)
        || !wire_take(in, disconnects) || !wire_take(in, open) || !wire_take(in, last_receive_ns)
        || !all.deserialize(in) || !wire_take(in, count) || count > 1000000)
        return false;
    rounds.assign(count, LatencyHistogram{});
    for (auto& round : rounds) {
        if (!round.deserialize(in))
            return false;
    }
    return wire_take_text(in, first_error);
}

bool send_message(int fd, MessageType type, std::string_view payload)
{
    std::string out;
    wire_put(out, Header{static_cast<std::uint32_t>(type), static_cast<std::uint32_t>(payload.size())});
    out.append(payload);
    std::size_t done = 0;
    // Bounded: each pass writes at least one byte or fails; EINTR retries are capped.
    for (int interrupted = 0; done < out.size();) {
        const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR && ++interrupted < 1000) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}

bool MessageReader::read_from(int fd)
{
    char chunk[65536];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN);
}

std::optional<Message> MessageReader::next()
{
    std::string_view in(buffer_);
    Header header{};
    if (!wire_take(in, header) || header.size > max_payload || in.size() < header.size)
        return std::nullopt;
    Message message{static_cast<MessageType>(header.type), std::string(in.substr(0, header.size))};
    buffer_.erase(0, sizeof(Header) + header.size);
    return message;
}

} // namespace bench
