// LatencyHistogram: bucket arithmetic, quantiles and the binary form shipped through pipes.
#include "bench_histogram.hpp"

#include <algorithm>
#include <bit>

#include "bench_wire.hpp"

namespace bench {

int LatencyHistogram::bucket_of(std::uint64_t us)
{
    if (us < linear_limit)
        return static_cast<int>(us);
    const int octave = std::bit_width(us) - 1; // >= 10
    if (octave >= 10 + octaves)
        return bucket_count - 1;
    const int sub = static_cast<int>((us >> (octave - 6)) & (sub_buckets - 1));
    return linear_limit + (octave - 10) * sub_buckets + sub;
}

std::uint64_t LatencyHistogram::bucket_low(int bucket)
{
    if (bucket < linear_limit)
        return static_cast<std::uint64_t>(bucket);
    const int octave = 10 + (bucket - linear_limit) / sub_buckets;
    const int sub = (bucket - linear_limit) % sub_buckets;
    return (std::uint64_t{1} << octave) + (static_cast<std::uint64_t>(sub) << (octave - 6));
}

std::uint64_t LatencyHistogram::bucket_high(int bucket)
{
    if (bucket < linear_limit)
        return static_cast<std::uint64_t>(bucket) + 1;
    const int octave = 10 + (bucket - linear_limit) / sub_buckets;
    return bucket_low(bucket) + (std::uint64_t{1} << (octave - 6));
}

void LatencyHistogram::record(std::int64_t ns)
{
    if (ns < 0)
        ns = 0;
    ++buckets_[static_cast<std::size_t>(bucket_of(static_cast<std::uint64_t>(ns) / 1000))];
    if (count_ == 0 || ns > max_ns_)
        max_ns_ = ns;
    if (count_ == 0 || ns < min_ns_)
        min_ns_ = ns;
    ++count_;
    sum_ns_ += static_cast<long double>(ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other)
{
    if (other.count_ == 0)
        return;
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        buckets_[i] += other.buckets_[i];
    max_ns_ = count_ ? std::max(max_ns_, other.max_ns_) : other.max_ns_;
    min_ns_ = count_ ? std::min(min_ns_, other.min_ns_) : other.min_ns_;
    count_ += other.count_;
    sum_ns_ += other.sum_ns_;
}

void LatencyHistogram::clear()
{
    *this = LatencyHistogram{};
}

double LatencyHistogram::mean_ns() const
{
    return count_ ? static_cast<double>(sum_ns_ / static_cast<long double>(count_)) : 0.0;
}

std::int64_t LatencyHistogram::quantile_ns(double q) const
{
    if (count_ == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The rank (1-based) of the sample that holds the quantile.
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (int b = 0; b < bucket_count; ++b) {
        seen += buckets_[static_cast<std::size_t>(b)];
        if (seen >= rank) {
            const auto mid_us = (bucket_low(b) + bucket_high(b)) / 2;
            const auto ns = static_cast<std::int64_t>(b < linear_limit ? bucket_low(b) * 1000 + 500 : mid_us * 1000);
            return std::clamp(ns, min_ns_, max_ns_);
        }
    }
    return max_ns_;
}

void LatencyHistogram::serialize(std::string& out) const
{
    std::uint32_t used = 0;
    for (auto n : buckets_)
        used += n != 0;
    wire_put(out, count_);
    wire_put(out, max_ns_);
    wire_put(out, min_ns_);
    wire_put(out, static_cast<double>(sum_ns_));
    wire_put(out, used);
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        if (buckets_[i] != 0) {
            wire_put(out, static_cast<std::uint16_t>(i));
            wire_put(out, buckets_[i]);
        }
    }
}

bool LatencyHistogram::deserialize(std::string_view& in)
{
    clear();
    double sum = 0;
    std::uint32_t used = 0;
    if (!wire_take(in, count_) || !wire_take(in, max_ns_) || !wire_take(in, min_ns_) || !wire_take(in, sum) || !wire_take(in, used))
        return false;
    sum_ns_ = sum;
    if (used > static_cast<std::uint32_t>(bucket_count))
        return false;
    for (std::uint32_t i = 0; i < used; ++i) {
        std::uint16_t index = 0;
        std::uint32_t n = 0;
        if (!wire_take(in, index) || !wire_take(in, n) || index >= bucket_count)
            return false;
        buckets_[index] = n;
    }
    return true;
}

} // namespace bench
