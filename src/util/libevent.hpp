// RAII owners for libevent handles.
#pragma once
#include <event2/event.h>

#include <memory>

namespace mercure {

struct EventBaseDeleter {
    void operator()(event_base* base) const { event_base_free(base); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;

} // namespace mercure
