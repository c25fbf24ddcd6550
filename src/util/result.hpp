// Result<T>: an expected outcome or a one-line reason, for errors the caller must handle.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace mercure {

// An expected failure: carries a precise, human-readable one-line message.
struct Error {
    std::string message;
};

// Either a value or an Error. Unexpected failures do not travel in Results: they abort.
template <typename T>
class Result {
public:
    Result(T value) : state_(std::move(value)) {}
    Result(Error error) : state_(std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

// Result for operations that produce no value.
struct Ok {};
using Status = Result<Ok>;

} // namespace mercure
