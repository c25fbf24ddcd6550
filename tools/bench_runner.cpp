// Bench: forking the subscriber workers, the parent's bounded waits, subscriber commands.
#include "bench_runner.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "bench_publisher.hpp"
#include "bench_sse.hpp"
#include "bench_worker.hpp"

namespace bench {

namespace {

std::int64_t monotonic_ns()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The GET every subscriber sends.
std::string subscribe_request(const Options& o)
{
    const std::string target = o.target == Target::mercure ? o.hub_path + "?topic=" + percent_encode(o.topic)
                                                           : "/sub?id=" + percent_encode(o.channel);
    return "GET " + target + " HTTP/1.1\r\nHost: " + o.host_header + "\r\nAccept: text/event-stream\r\n\r\n";
}

void on_wake(evutil_socket_t, short, void*) {}

} // namespace

Bench::Bench(const Options& options) : options_(options), probe_(options.server_pid)
{
    tag_base_ = static_cast<std::uint32_t>(std::time(nullptr) % 100000) * 1000;
}

Bench::~Bench()
{
    stop_workers();
    if (wake_)
        event_free(wake_);
    if (base_)
        event_base_free(base_);
}

void Bench::error(const std::string& message)
{
    std::printf("ERROR: %s\n", message.c_str());
    std::fflush(stdout);
    errors_.push_back(message);
}

void Bench::warn(const std::string& message)
{
    std::printf("WARNING: %s\n", message.c_str());
    std::fflush(stdout);
    warnings_.push_back(message);
}

std::uint32_t Bench::workers_for(std::uint32_t subscribers) const
{
    const auto all = static_cast<std::uint32_t>(workers_.size());
    if (options_.workers)
        return std::min(options_.workers, all);
    return std::clamp<std::uint32_t>((subscribers + options_.per_process - 1) / options_.per_process, 1, all);
}

bool Bench::spawn_workers(std::uint32_t count)
{
    WorkerConfig config;
    config.server = options_.server;
    config.request = subscribe_request(options_);
    config.source_addresses = options_.source_addresses;
    std::fflush(stdout);
    std::fflush(stderr);
    workers_.resize(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        int commands[2];
        int replies[2];
        if (::pipe2(commands, O_CLOEXEC) != 0 || ::pipe2(replies, O_CLOEXEC) != 0) {
            error(std::string("pipe: ") + std::strerror(errno));
            return false;
        }
        const pid_t pid = ::fork();
        if (pid < 0) {
            error(std::string("fork: ") + std::strerror(errno));
            return false;
        }
        if (pid == 0) {
            // The worker: dies with the parent, keeps only its own pipe ends.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (std::uint32_t j = 0; j < i; ++j) {
                ::close(workers_[j].command_fd);
                ::close(workers_[j].reply_fd);
            }
            ::close(commands[1]);
            ::close(replies[0]);
            ::_exit(worker_main(config, commands[0], replies[1]));
        }
        ::close(commands[0]);
        ::close(replies[1]);
        workers_[i].pid = pid;
        workers_[i].command_fd = commands[1];
        workers_[i].reply_fd = replies[0];
    }
    base_ = event_base_new();
    wake_ = evtimer_new(base_, &on_wake, nullptr);
    if (base_ == nullptr || wake_ == nullptr) {
        error("cannot create the event loop");
        return false;
    }
    for (auto& link : workers_) {
        link.reply_event = event_new(base_, link.reply_fd, EV_READ | EV_PERSIST, &Bench::on_reply_cb, this);
        event_add(link.reply_event, nullptr);
    }
    return true;
}

void Bench::stop_workers()
{
    for (auto& link : workers_) {
        if (link.alive && link.command_fd >= 0)
            send_message(link.command_fd, MessageType::quit);
        if (link.reply_event)
            event_free(link.reply_event);
        link.reply_event = nullptr;
        if (link.command_fd >= 0)
            ::close(link.command_fd);
        if (link.reply_fd >= 0)
            ::close(link.reply_fd);
        link.command_fd = link.reply_fd = -1;
    }
    // Bounded reaping: 5 s, then SIGKILL.
    for (auto& link : workers_) {
        if (link.pid <= 0)
            continue;
        bool reaped = false;
        for (int i = 0; i < 500 && !reaped; ++i) {
            reaped = ::waitpid(link.pid, nullptr, WNOHANG) == link.pid;
            if (!reaped)
                ::usleep(10000);
        }
        if (!reaped) {
            ::kill(link.pid, SIGKILL);
            ::waitpid(link.pid, nullptr, 0);
        }
        link.pid = -1;
    }
    workers_.clear();
}

void Bench::on_reply_cb(int fd, short, void* arg)
{
    auto* self = static_cast<Bench*>(arg);
    for (auto& link : self->workers_) {
        if (link.reply_fd == fd) {
            self->on_reply(link);
            return;
        }
    }
}

void Bench::on_reply(WorkerLink& link)
{
    if (!link.reader.read_from(link.reply_fd)) {
        if (link.alive)
            error("a subscriber worker (pid " + std::to_string(link.pid) + ") exited unexpectedly");
        link.alive = false;
        event_del(link.reply_event);
        return;
    }
    for (int guard = 0; guard < 100000; ++guard) {
        auto message = link.reader.next();
        if (!message)
            break;
        if (message->type == MessageType::round_done) {
            RoundDone done;
            std::string_view in(message->payload);
            if (wire_take(in, done))
                ++rounds_done_[{done.tag, done.round}];
            continue;
        }
        link.inbox.push_back(std::move(*message));
    }
}

bool Bench::run_until(const std::function<bool()>& done, double seconds)
{
    const std::int64_t deadline = monotonic_ns() + static_cast<std::int64_t>(seconds * 1e9);
    // Each pass blocks until an event or the wake timer; bounded by the deadline and a count.
    for (long pass = 0; pass < 100000000L; ++pass) {
        if (done())
            return true;
        const std::int64_t left = deadline - monotonic_ns();
        if (left <= 0)
            return done();
        const timeval tv{static_cast<time_t>(left / 1000000000), static_cast<suseconds_t>((left % 1000000000) / 1000)};
        evtimer_add(wake_, &tv);
        event_base_loop(base_, EVLOOP_ONCE);
    }
    return done();
}

void Bench::sleep_for(double seconds)
{
    run_until([] { return false; }, seconds);
}

std::optional<Message> Bench::await(WorkerLink& link, MessageType type, double seconds)
{
    auto find = [&] {
        return std::find_if(link.inbox.begin(), link.inbox.end(), [&](const Message& m) { return m.type == type; });
    };
    run_until([&] { return !link.alive || find() != link.inbox.end(); }, seconds);
    const auto at = find();
    if (at == link.inbox.end())
        return std::nullopt;
    Message message = std::move(*at);
    link.inbox.erase(at);
    return message;
}

ConnectOutcome Bench::connect_subscribers(std::uint32_t count)
{
    ConnectOutcome outcome;
    active_workers_ = workers_for(count);
    std::uint32_t first = 0;
    for (std::uint32_t i = 0; i < active_workers_; ++i) {
        auto& link = workers_[i];
        ConnectCommand command;
        command.count = count / active_workers_ + (i < count % active_workers_ ? 1 : 0);
        command.window = options_.connect_window;
        command.timeout_ms = static_cast<std::uint32_t>(options_.connect_timeout * 1000);
        command.first_index = first;
        first += command.count;
        link.subscribers = command.count;
        std::string payload;
        wire_put(payload, command);
        if (!link.alive || !send_message(link.command_fd, MessageType::connect, payload)) {
            outcome.failed += command.count;
            outcome.first_error = "a subscriber worker is gone";
        }
    }
    for (std::uint32_t i = 0; i < active_workers_; ++i) {
        auto reply = await(workers_[i], MessageType::connected, options_.connect_timeout + 10);
        ConnectResult result;
        if (!reply || !result.deserialize(reply->payload)) {
            outcome.failed += workers_[i].subscribers;
            if (outcome.first_error.empty())
                outcome.first_error = "a subscriber worker did not report its connections";
            continue;
        }
        outcome.established += result.established;
        outcome.failed += result.failed;
        outcome.seconds = std::max(outcome.seconds, static_cast<double>(result.elapsed_ns) / 1e9);
        if (outcome.first_error.empty())
            outcome.first_error = result.first_error;
    }
    return outcome;
}

bool Bench::arm(std::uint32_t tag, std::uint32_t rounds)
{
    ArmCommand command{tag, rounds};
    std::string payload;
    wire_put(payload, command);
    bool ok = true;
    for (std::uint32_t i = 0; i < active_workers_; ++i)
        ok = send_message(workers_[i].command_fd, MessageType::arm, payload) && ok;
    for (std::uint32_t i = 0; i < active_workers_; ++i)
        ok = await(workers_[i], MessageType::armed, 10).has_value() && ok;
    if (!ok)
        error("a subscriber worker did not acknowledge a new phase");
    return ok;
}

std::optional<WorkerStats> Bench::collect()
{
    WorkerStats total;
    for (std::uint32_t i = 0; i < active_workers_; ++i) {
        if (!send_message(workers_[i].command_fd, MessageType::report)) {
            error("cannot reach a subscriber worker");
            return std::nullopt;
        }
    }
    for (std::uint32_t i = 0; i < active_workers_; ++i) {
        auto reply = await(workers_[i], MessageType::stats, 10);
        WorkerStats stats;
        if (!reply || !stats.deserialize(reply->payload)) {
            error("a subscriber worker did not report its counters");
            return std::nullopt;
        }
        total.merge(stats);
    }
    return total;
}

std::optional<WorkerStats> Bench::drain(std::uint64_t expected)
{
    const std::int64_t deadline = monotonic_ns() + static_cast<std::int64_t>(options_.drain_timeout * 1e9);
    std::uint64_t last = 0;
    std::int64_t last_change = monotonic_ns();
    for (int pass = 0; pass < 100000; ++pass) {
        auto stats = collect();
        if (!stats)
            return stats;
        const std::int64_t now = monotonic_ns();
        if (stats->received != last) {
            last = stats->received;
            last_change = now;
        }
        if (stats->received >= expected || now - last_change > 1000000000 || now >= deadline)
            return stats;
        sleep_for(0.1);
    }
    return collect();
}

void Bench::close_subscribers()
{
    for (std::uint32_t i = 0; i < active_workers_; ++i)
        send_message(workers_[i].command_fd, MessageType::close);
    for (std::uint32_t i = 0; i < active_workers_; ++i) {
        if (!await(workers_[i], MessageType::closed, 30))
            error("a subscriber worker did not close its subscribers");
    }
}

bool Bench::round_complete(std::uint32_t tag, std::uint32_t round) const
{
    std::uint32_t expected = 0;
    for (std::uint32_t i = 0; i < active_workers_; ++i)
        expected += workers_[i].subscribers > 0 ? 1 : 0;
    const auto at = rounds_done_.find({tag, round});
    return at != rounds_done_.end() && at->second >= expected;
}

void Bench::check_server(const std::string& phase)
{
    if (probe_.enabled() && !probe_.alive())
        error(phase + ": the server process " + std::to_string(options_.server_pid) + " is gone");
}

int Bench::run()
{
    // The fd budget: every worker holds up to --per-process sockets.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const std::uint32_t largest = options_.largest_subscriber_count();
    std::uint32_t per_worker_needed = options_.workers ? (largest + options_.workers - 1) / options_.workers
                                                       : std::min(largest, options_.per_process);
    if (limit.rlim_cur != RLIM_INFINITY && per_worker_needed + 64 > limit.rlim_cur) {
        std::fprintf(stderr,
                     "mercure-bench: %u subscribers per process exceed the file descriptor limit %llu; "
                     "lower --per-process or raise --workers\n",
                     per_worker_needed, static_cast<unsigned long long>(limit.rlim_cur));
        return 1;
    }
    const std::uint32_t count = options_.workers ? options_.workers
                                                 : (largest + options_.per_process - 1) / options_.per_process;
    std::signal(SIGPIPE, SIG_IGN);
    // Fail fast, with the reason, when the server is not there at all.
    std::string unreachable;
    const int probe_fd = connect_with_timeout(options_.server, 5, unreachable);
    if (probe_fd < 0) {
        std::fprintf(stderr, "mercure-bench: cannot reach %s: %s\n", options_.url.c_str(), unreachable.c_str());
        return 1;
    }
    ::close(probe_fd);

    std::printf("mercure-bench: target %s at %s, server pid %d, %u worker process(es), phases:",
                options_.target == Target::mercure ? "mercure" : "nchan", options_.url.c_str(),
                static_cast<int>(options_.server_pid), count);
    for (const auto& phase : options_.phases)
        std::printf(" %s", phase.c_str());
    std::printf("\n");
    if (!probe_.enabled())
        std::printf("(no --server-pid: server memory and CPU figures are not measured)\n");
    std::fflush(stdout);

    if (spawn_workers(count)) {
        for (const auto& phase : options_.phases) {
            if (std::any_of(workers_.begin(), workers_.end(), [](const auto& l) { return !l.alive; })) {
                error("stopping: a subscriber worker is gone");
                break;
            }
            if (probe_.enabled() && !probe_.alive()) {
                error("stopping: the server process is gone");
                break;
            }
            if (phase == "idle-memory")
                phase_idle_memory();
            else if (phase == "fanout")
                phase_fanout();
            else if (phase == "throughput")
                phase_throughput();
            else if (phase == "publish-rate")
                phase_publish_rate();
            else if (phase == "publish-latency")
                phase_publish_latency();
            else if (phase == "max-connections")
                phase_max_connections();
            check_server(phase);
        }
    }
    stop_workers();

    JsonObject json;
    json.set("tool", "mercure-bench")
        .set("target", options_.target == Target::mercure ? "mercure" : "nchan")
        .set("url", options_.url)
        .set("server_pid", static_cast<std::int64_t>(options_.server_pid))
        .set("quick", options_.quick)
        .set("phases", phases_json_)
        .set("errors", errors_)
        .set("warnings", warnings_)
        .set("ok", errors_.empty());
    std::printf("%s\n", errors_.empty() ? "mercure-bench: done, no errors"
                                        : ("mercure-bench: " + std::to_string(errors_.size()) + " error(s)").c_str());
    std::printf("%s\n", json.str().c_str());
    std::fflush(stdout);
    if (!errors_.empty())
        return 1;
    if (options_.require_full_delivery && !warnings_.empty())
        return 1;
    return 0;
}

} // namespace bench
