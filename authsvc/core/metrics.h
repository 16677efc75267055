#pragma once
// Metrics in the Prometheus text exposition format (version 0.0.4).
//
// Debian has no Prometheus client library for C++, and the format is a
// page long: this is the little it takes. The parts that count on the hot
// path are Counter and Histogram, relaxed atomics that cost a few
// nanoseconds and never lock. Everything else is read when scraped: a
// component keeps its own figures (AuditLog, StoreWatcher, the guardian)
// and the process that runs it registers a function that reads them, so
// that no component depends on this registry.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authsvc {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Observations in nanoseconds (or any integer unit), exposed in
// `exposed_unit`s: nanoseconds as seconds with 1e-9. Bounds are inclusive
// upper bounds ("le"), ascending; +Inf is implicit.
class Histogram {
 public:
  static constexpr std::size_t kMaxBuckets = 24;
  explicit Histogram(std::vector<std::uint64_t> upper_bounds, double exposed_unit = 1e-9);

  void observe(std::uint64_t value) {
    std::size_t i = 0;
    while (i < bounds_count_ && value > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  struct Reading {
    std::vector<std::pair<double, std::uint64_t>> cumulative;  // (le, count), +Inf last
    double sum = 0;
    std::uint64_t count = 0;
  };
  Reading read() const;

 private:
  std::array<std::uint64_t, kMaxBuckets> bounds_{};
  std::size_t bounds_count_ = 0;
  double unit_;
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts_{};
  std::atomic<std::uint64_t> sum_{0};
};

// 10 µs to 100 ms in a 1-2.5-5 series, in nanoseconds: what the request
// histograms use.
std::vector<std::uint64_t> request_duration_bounds_ns();

// Families of samples, written in the order they were registered. Safe to
// register from any thread and to scrape concurrently; components register
// at start-up.
class MetricsRegistry {
 public:
  enum class Type { counter, gauge, histogram };

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // A sample read when scraped.
  void add(std::string_view name, Type type, std::string_view help, Labels labels,
           std::function<double()> read);
  // A histogram (owned by the caller, alive as long as the registry).
  void add(std::string_view name, std::string_view help, Labels labels, const Histogram& histogram);
  // A whole family written by the caller (hot-path counters keep their own
  // table): `write` appends sample lines, no HELP or TYPE.
  void add_family(std::string_view name, Type type, std::string_view help,
                  std::function<void(std::string*)> write);

  // Counter and Gauge owned by the registry, for figures nothing else keeps.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});

  std::string exposition() const;

 private:
  struct Family;
  Family& family(std::string_view name, Type type, std::string_view help);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<Counter>> owned_;
};

// Counters whose label values are known only when counted (the web's
// actions). Not for a hot path: a lock a count. At most `max_series`
// label sets, past which a count goes to the set whose every value is
// "other", so that no input can grow it without end.
class CounterFamily {
 public:
  explicit CounterFamily(std::vector<std::string> label_names, std::size_t max_series = 256);
  void add(const std::vector<std::string>& values, std::uint64_t n = 1);
  std::uint64_t value(const std::vector<std::string>& values) const;
  void register_in(MetricsRegistry& registry, std::string_view name, std::string_view help) const;

 private:
  std::vector<std::string> names_;
  std::size_t max_series_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::vector<std::string>, std::uint64_t>> series_;
};

// One sample line: `name{labels} value\n`, label values escaped.
void write_sample(std::string* out, std::string_view name, const Labels& labels, double value);
// A label value escaped for the exposition format (\\, \", \n).
std::string escape_label_value(std::string_view value);

}  // namespace authsvc
