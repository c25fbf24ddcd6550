// LatencyHistogram: a mergeable log-linear histogram of latencies for mercure-bench.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

// Values are recorded in microseconds: exact below 1024 µs, then 64 sub-buckets per octave
// (under 1.6% relative error) up to 2^31 µs. The exact minimum and maximum are kept in
// nanoseconds, so the time-to-last of a fan-out round is not rounded. Histograms from several
// processes merge by adding buckets, which is why the workers ship histograms, not samples.
class LatencyHistogram {
public:
    static constexpr int linear_limit = 1024;
    static constexpr int sub_buckets = 64;
    static constexpr int octaves = 22; // 2^10 .. 2^31 µs
    static constexpr int bucket_count = linear_limit + octaves * sub_buckets;

    // Records one latency in nanoseconds (negative values count as 0).
    void record(std::int64_t nanoseconds);
    // Adds every sample of `other`.
    void merge(const LatencyHistogram& other);
    // Forgets every sample.
    void clear();

    std::uint64_t count() const { return count_; }
    // Exact extremes in nanoseconds (0 when empty).
    std::int64_t max_ns() const { return count_ ? max_ns_ : 0; }
    std::int64_t min_ns() const { return count_ ? min_ns_ : 0; }
    // Mean in nanoseconds (0 when empty).
    double mean_ns() const;
    // The q-quantile (0..1) in nanoseconds: the middle of the bucket holding it, clamped to
    // the exact extremes; 0 when empty.
    std::int64_t quantile_ns(double q) const;

    // Appends a compact binary form (only non-empty buckets) to `out`.
    void serialize(std::string& out) const;
    // Reads the form written by serialize from the front of `in`, advancing it; false when
    // the input is truncated or malformed.
    bool deserialize(std::string_view& in);

    // Bucket arithmetic, exposed for tests.
    static int bucket_of(std::uint64_t microseconds);
    static std::uint64_t bucket_low(int bucket);
    static std::uint64_t bucket_high(int bucket);

private:
    std::array<std::uint32_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::int64_t max_ns_ = 0;
    std::int64_t min_ns_ = 0;
    long double sum_ns_ = 0;
};

} // namespace bench
