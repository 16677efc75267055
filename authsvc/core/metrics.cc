#include "authsvc/core/metrics.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace authsvc {

Histogram::Histogram(std::vector<std::uint64_t> upper_bounds, double exposed_unit)
    : unit_(exposed_unit) {
  if (upper_bounds.size() > kMaxBuckets) throw std::invalid_argument("too many histogram buckets");
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (i > 0 && upper_bounds[i] <= upper_bounds[i - 1]) {
      throw std::invalid_argument("histogram bounds must ascend");
    }
    bounds_[i] = upper_bounds[i];
  }
  bounds_count_ = upper_bounds.size();
}

Histogram::Reading Histogram::read() const {
  Reading reading;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_count_; ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    double le = i < bounds_count_ ? static_cast<double>(bounds_[i]) * unit_ : INFINITY;
    reading.cumulative.emplace_back(le, running);
  }
  // Read after the buckets: a scrape may see an observation in its bucket
  // and not yet in the sum, never the count disagree with +Inf.
  reading.count = running;
  reading.sum = static_cast<double>(sum_.load(std::memory_order_relaxed)) * unit_;
  return reading;
}

std::vector<std::uint64_t> request_duration_bounds_ns() {
  std::vector<std::uint64_t> bounds;
  for (std::uint64_t decade = 10'000; decade <= 10'000'000; decade *= 10) {
    bounds.push_back(decade);
    bounds.push_back(decade * 5 / 2);
    bounds.push_back(decade * 5);
  }
  bounds.push_back(100'000'000);  // 10 µs, 25 µs, 50 µs ... 50 ms, 100 ms
  return bounds;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string format_value(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  // Integers as integers (counters up to 2^53 stay exact), the rest with
  // enough digits to read back the same double.
  char text[64];
  std::to_chars_result written{};
  if (value == std::floor(value) && std::fabs(value) < 9.007199254740992e15) {
    written = std::to_chars(text, text + sizeof text, static_cast<std::int64_t>(value));
  } else {
    // The shortest that reads back the same, in %g's style ("1e-05",
    // "0.0001"), as Prometheus's own clients write bucket bounds: a query
    // for le="0.0001" must find this one.
    written = std::to_chars(text, text + sizeof text, value, std::chars_format::general);
  }
  return std::string(text, written.ptr);
}

void write_labels(std::string* out, const Labels& labels) {
  if (labels.empty()) return;
  *out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) *out += ',';
    first = false;
    *out += key;
    *out += "=\"";
    *out += escape_label_value(value);
    *out += '"';
  }
  *out += '}';
}

std::string_view type_name(MetricsRegistry::Type type) {
  switch (type) {
    case MetricsRegistry::Type::counter:
      return "counter";
    case MetricsRegistry::Type::gauge:
      return "gauge";
    case MetricsRegistry::Type::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void write_sample(std::string* out, std::string_view name, const Labels& labels, double value) {
  *out += name;
  write_labels(out, labels);
  *out += ' ';
  *out += format_value(value);
  *out += '\n';
}

struct MetricsRegistry::Family {
  std::string name;
  Type type;
  std::string help;
  std::vector<std::function<void(std::string*)>> writers;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, Type type,
                                                 std::string_view help) {
  for (auto& f : families_) {
    if (f->name == name) {
      if (f->type != type) throw std::logic_error("metric " + f->name + " registered twice");
      return *f;
    }
  }
  families_.push_back(
      std::make_unique<Family>(Family{std::string(name), type, std::string(help), {}}));
  return *families_.back();
}

void MetricsRegistry::add(std::string_view name, Type type, std::string_view help, Labels labels,
                          std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, type, help)
      .writers.push_back(
          [n = std::string(name), labels = std::move(labels),
           read = std::move(read)](std::string* out) { write_sample(out, n, labels, read()); });
}

void MetricsRegistry::add(std::string_view name, std::string_view help, Labels labels,
                          const Histogram& histogram) {
  std::lock_guard lock(mutex_);
  family(name, Type::histogram, help)
      .writers.push_back(
          [n = std::string(name), labels = std::move(labels), &histogram](std::string* out) {
            Histogram::Reading reading = histogram.read();
            for (const auto& [le, count] : reading.cumulative) {
              Labels with_le = labels;
              with_le.emplace_back("le", format_value(le));
              write_sample(out, n + "_bucket", with_le, static_cast<double>(count));
            }
            write_sample(out, n + "_sum", labels, reading.sum);
            write_sample(out, n + "_count", labels, static_cast<double>(reading.count));
          });
}

void MetricsRegistry::add_family(std::string_view name, Type type, std::string_view help,
                                 std::function<void(std::string*)> write) {
  std::lock_guard lock(mutex_);
  family(name, type, help).writers.push_back(std::move(write));
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
  auto owned = std::make_unique<Counter>();
  Counter& c = *owned;
  {
    std::lock_guard lock(mutex_);
    owned_.push_back(std::move(owned));
  }
  add(name, Type::counter, help, std::move(labels),
      [&c] { return static_cast<double>(c.value()); });
  return c;
}

std::string MetricsRegistry::exposition() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& f : families_) {
    out.append("# HELP ").append(f->name).append(" ").append(f->help).append("\n");
    out.append("# TYPE ").append(f->name).append(" ").append(type_name(f->type)).append("\n");
    for (const auto& write : f->writers) write(&out);
  }
  return out;
}

CounterFamily::CounterFamily(std::vector<std::string> label_names, std::size_t max_series)
    : names_(std::move(label_names)), max_series_(max_series) {}

void CounterFamily::add(const std::vector<std::string>& values, std::uint64_t n) {
  std::lock_guard lock(mutex_);
  for (auto& [labels, count] : series_) {
    if (labels == values) {
      count += n;
      return;
    }
  }
  if (series_.size() + 1 < max_series_) {
    series_.emplace_back(values, n);
    return;
  }
  std::vector<std::string> other(names_.size(), "other");
  for (auto& [labels, count] : series_) {
    if (labels == other) {
      count += n;
      return;
    }
  }
  series_.emplace_back(std::move(other), n);
}

std::uint64_t CounterFamily::value(const std::vector<std::string>& values) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, count] : series_) {
    if (labels == values) return count;
  }
  return 0;
}

void CounterFamily::register_in(MetricsRegistry& registry, std::string_view name,
                                std::string_view help) const {
  registry.add_family(name, MetricsRegistry::Type::counter, help,
                      [this, n = std::string(name)](std::string* out) {
                        std::lock_guard lock(mutex_);
                        for (const auto& [values, count] : series_) {
                          Labels labels;
                          for (std::size_t i = 0; i < names_.size() && i < values.size(); ++i) {
                            labels.emplace_back(names_[i], values[i]);
                          }
                          write_sample(out, n, labels, static_cast<double>(count));
                        }
                      });
}

}  // namespace authsvc
