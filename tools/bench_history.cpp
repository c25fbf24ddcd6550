// mercure-bench-history: appends/s of the LMDB history in each sync mode, and replay reads/s.
#include <getopt.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/lmdb_history.hpp"
#include "store/memory_history.hpp"

namespace {

constexpr const char* usage_text =
    "Usage: mercure-bench-history [--count N] [--always-count N] [--size BYTES] [--batch K]\n"
    "                             [--keep N] [--dir DIR]\n"
    "\n"
    "Appends N updates of BYTES bytes of data to a fresh LMDB history in each sync mode and\n"
    "prints appends/s; Batch flushes (group commit) every K appends, as the hub does once per\n"
    "loop turn. Then replays the store with next_after(), from disk and from the cache.\n"
    "\n"
    "  -n, --count N          appends for Batch, None and memory (default 100000)\n"
    "  -a, --always-count N   appends for Always, one fsync each (default 2000)\n"
    "  -s, --size BYTES       data bytes per update (default 256)\n"
    "  -b, --batch K          appends per flush in Batch mode (default 64)\n"
    "  -k, --keep N           history_size: entries kept (default 1000)\n"
    "  -d, --dir DIR          where to create the stores (default $TMPDIR or /tmp)\n"
    "  -h, --help             show this help\n";

using Clock = std::chrono::steady_clock;

struct Settings {
    std::size_t count = 100000;
    std::size_t always_count = 2000;
    std::size_t size = 256;
    std::size_t batch = 64;
    std::size_t keep = 1000;
    std::string dir;
};

// Updates shaped like the hub's: a UUID URN id, one topic, a frame built once.
struct Prepared {
    std::vector<mercure::Update> updates;
    std::vector<mercure::FramePtr> frames;
};

Prepared prepare(std::size_t count, std::size_t size)
{
    Prepared p;
    p.updates.reserve(count);
    p.frames.reserve(count);
    std::string data(size, ' ');
    for (std::size_t i = 0; i < size; ++i)
        data[i] = static_cast<char>('a' + i % 26);
    for (std::size_t i = 0; i < count; ++i) {
        mercure::Update u;
        char id[64];
        std::snprintf(id, sizeof id, "urn:uuid:0b1c2d3e-4f50-4617-8829-%012zx", i);
        u.id = id;
        u.topics = {"https://example.com/books/" + std::to_string(i % 100)};
        u.data = data;
        p.frames.push_back(mercure::make_frame(mercure::encode_sse_event(u)));
        p.updates.push_back(std::move(u));
    }
    return p;
}

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void report(const char* what, std::size_t n, double seconds, const std::string& extra)
{
    std::printf("%-34s %8zu in %7.3f s  %12.0f /s%s\n", what, n, seconds, static_cast<double>(n) / seconds,
                extra.c_str());
}

// Appends `count` updates in one mode; returns false on an error (printed).
bool bench_mode(const Settings& s, mercure::LmdbOptions::Sync sync, const char* name, std::size_t count)
{
    mercure::LmdbOptions o;
    o.path = s.dir + "/" + name;
    o.max_entries = s.keep;
    o.sync = sync;
    auto opened = mercure::LmdbHistory::open(o);
    if (!opened) {
        std::fprintf(stderr, "mercure-bench-history: %s\n", opened.error().message.c_str());
        return false;
    }
    mercure::LmdbHistory& h = **opened;
    Prepared p = prepare(count, s.size);
    auto start = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
        auto stored = h.append(std::move(p.updates[i]), p.frames[i], 0);
        if (!stored) {
            std::fprintf(stderr, "mercure-bench-history: %s\n", stored.error().message.c_str());
            return false;
        }
        if (sync == mercure::LmdbOptions::Sync::Batch && (i + 1) % s.batch == 0)
            if (auto flushed = h.flush(); !flushed) {
                std::fprintf(stderr, "mercure-bench-history: %s\n", flushed.error().message.c_str());
                return false;
            }
    }
    if (auto flushed = h.flush(); !flushed) {
        std::fprintf(stderr, "mercure-bench-history: %s\n", flushed.error().message.c_str());
        return false;
    }
    double elapsed = seconds_since(start);
    std::string label = std::string("lmdb ") + name;
    if (sync == mercure::LmdbOptions::Sync::Batch)
        label += " (flush every " + std::to_string(s.batch) + ")";
    report(label.c_str(), count, elapsed, "  " + std::to_string(h.bytes_on_disk() / 1024) + " KiB on disk");
    return true;
}

void bench_memory(const Settings& s)
{
    mercure::MemoryHistory h(s.keep, 0);
    Prepared p = prepare(s.count, s.size);
    auto start = Clock::now();
    for (std::size_t i = 0; i < s.count; ++i)
        h.append(std::move(p.updates[i]), p.frames[i], 0);
    report("memory (reference)", s.count, seconds_since(start), "");
}

// Walks the whole store with next_after() `rounds` times, as replaying subscribers do.
void bench_replay(const Settings& s, std::size_t cache, const char* label)
{
    mercure::LmdbOptions o;
    o.path = s.dir + "/none";
    o.max_entries = s.keep;
    o.cache_entries = cache;
    auto opened = mercure::LmdbHistory::open(o);
    if (!opened) {
        std::fprintf(stderr, "mercure-bench-history: %s\n", opened.error().message.c_str());
        return;
    }
    mercure::LmdbHistory& h = **opened;
    if (cache > 0) {  // the cache holds what was appended by this process
        Prepared p = prepare(h.size(), s.size);
        for (std::size_t i = 0; i < p.updates.size(); ++i)
            h.append(std::move(p.updates[i]), p.frames[i], 0);
    }
    std::size_t reads = 0;
    auto start = Clock::now();
    for (int round = 0; round < 20; ++round) {
        std::uint64_t cursor = 0;
        while (mercure::HistoryEntryPtr entry = h.next_after(cursor)) {
            cursor = entry->sequence;
            ++reads;
        }
    }
    report(label, reads, seconds_since(start), "");
}

} // namespace

int main(int argc, char** argv)
{
    Settings s;
    static const option long_options[] = {
        {"count", required_argument, nullptr, 'n'},  {"always-count", required_argument, nullptr, 'a'},
        {"size", required_argument, nullptr, 's'},   {"batch", required_argument, nullptr, 'b'},
        {"keep", required_argument, nullptr, 'k'},   {"dir", required_argument, nullptr, 'd'},
        {"help", no_argument, nullptr, 'h'},         {nullptr, 0, nullptr, 0},
    };
    std::string base;
    for (int c; (c = getopt_long(argc, argv, "n:a:s:b:k:d:h", long_options, nullptr)) != -1;) {
        char* end = nullptr;
        std::size_t value = optarg ? std::strtoull(optarg, &end, 10) : 0;
        if (optarg && (*optarg == '\0' || *end != '\0' || (value == 0 && c != 'd'))) {
            std::fprintf(stderr, "mercure-bench-history: bad value for -%c: %s (see --help)\n", c, optarg);
            return 2;
        }
        switch (c) {
        case 'n': s.count = value; break;
        case 'a': s.always_count = value; break;
        case 's': s.size = value; break;
        case 'b': s.batch = value; break;
        case 'k': s.keep = value; break;
        case 'd': base = optarg; break;
        case 'h': std::fputs(usage_text, stdout); return 0;
        default: std::fputs(usage_text, stderr); return 2;
        }
    }
    if (base.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string pattern = base + "/mercure-bench-XXXXXX";
    if (!mkdtemp(pattern.data())) {
        std::perror("mercure-bench-history: mkdtemp");
        return 1;
    }
    s.dir = pattern;
    std::printf("%zu-byte updates, history_size %zu, stores in %s\n", s.size, s.keep, s.dir.c_str());
    bool ok = bench_mode(s, mercure::LmdbOptions::Sync::Always, "always", s.always_count) &&
              bench_mode(s, mercure::LmdbOptions::Sync::Batch, "batch", s.count) &&
              bench_mode(s, mercure::LmdbOptions::Sync::None, "none", s.count);
    if (ok) {
        bench_memory(s);
        bench_replay(s, 0, "replay next_after, from disk");
        bench_replay(s, s.keep, "replay next_after, from cache");
    }
    std::filesystem::remove_all(s.dir);
    return ok ? 0 : 1;
}
