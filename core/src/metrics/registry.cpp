#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace systemk::metrics {
namespace {

bool name_char(char c, bool first, bool colon_ok) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (colon_ok && c == ':') return true;
    return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon_ok) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i)
        if (!name_char(name[i], i == 0, colon_ok)) return false;
    return true;
}

void check_family(std::string_view name, const std::vector<std::string> &label_names) {
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
    for (const auto &label : label_names)
        if (!valid_label_name(label))
            throw std::invalid_argument("metric " + std::string(name) + ": invalid label name '" + label + "'");
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

// Names starting with "__" are reserved for Prometheus itself.
bool valid_label_name(std::string_view name) { return valid_name(name, false) && !name.starts_with("__"); }

std::string format_bound(double bound) {
    if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, bound);
    if (ec != std::errc()) return format_value(bound);
    return std::string(buf, end);
}

const std::vector<double> &duration_buckets() {
    static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,      2.5,   5,    10,    30,   60,  120, 300};
    return buckets;
}

void Counter::inc(double amount) {
    if (!(amount >= 0)) return;  // also NaN
    value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
    // The first bucket whose bound is >= value ("le"); NaN lands in +Inf.
    const auto at = std::isnan(value) ? bounds_.end() : std::lower_bound(bounds_.begin(), bounds_.end(), value);
    buckets_[static_cast<size_t>(at - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.cumulative.reserve(bounds_.size() + 1);
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

Labels FamilyBase::labels_of(const std::vector<std::string> &values) const {
    Labels out;
    out.reserve(values.size() + 1);
    for (size_t i = 0; i < values.size(); ++i) out.emplace_back(label_names_[i], values[i]);
    return out;
}

void FamilyBase::check_arity(size_t values) const {
    if (values != label_names_.size())
        throw std::invalid_argument("metric " + name_ + " takes " + std::to_string(label_names_.size()) +
                                    " label values, not " + std::to_string(values));
}

void CounterFamily::write(TextWriter &out) const {
    const auto all = children();
    if (all.empty()) return;
    out.family(name_, "counter", help_);
    for (const auto &[values, metric] : all) out.sample(name_, labels_of(values), metric->value());
}

void GaugeFamily::write(TextWriter &out) const {
    const auto all = children();
    if (all.empty()) return;
    out.family(name_, "gauge", help_);
    for (const auto &[values, metric] : all) out.sample(name_, labels_of(values), metric->value());
}

void HistogramFamily::write(TextWriter &out) const {
    const auto all = children();
    if (all.empty()) return;
    out.family(name_, "histogram", help_);
    const auto bucket = name_ + "_bucket", sum = name_ + "_sum", count = name_ + "_count";
    for (const auto &[values, metric] : all) {
        const auto s = metric->snapshot();
        auto labels = labels_of(values);
        for (size_t i = 0; i < s.cumulative.size(); ++i) {
            labels.emplace_back("le", i < bounds_.size() ? format_bound(bounds_[i]) : "+Inf");
            out.sample(bucket, labels, static_cast<double>(s.cumulative[i]));
            labels.pop_back();
        }
        out.sample(sum, labels, s.sum);
        out.sample(count, labels, static_cast<double>(s.count));
    }
}

template <class F> F &Registry::add(std::unique_ptr<F> family) {
    std::lock_guard lock(mutex_);
    auto &slot = families_[family->name()];
    if (slot) throw std::invalid_argument("metric " + family->name() + " is registered twice");
    auto &ref = *family;
    slot = std::move(family);
    return ref;
}

CounterFamily &Registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
    check_family(name, label_names);
    if (!name.ends_with("_total")) throw std::invalid_argument("counter " + name + " must end in _total");
    auto &f = add(std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names)));
    if (f.label_count() == 0) f.with({});
    return f;
}

GaugeFamily &Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
    check_family(name, label_names);
    auto &f = add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names)));
    if (f.label_count() == 0) f.with({});
    return f;
}

HistogramFamily &Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
    check_family(name, label_names);
    for (const auto &label : label_names)
        if (label == "le") throw std::invalid_argument("histogram " + name + ": 'le' is the bucket label");
    if (bounds.empty()) throw std::invalid_argument("histogram " + name + " has no buckets");
    for (size_t i = 0; i < bounds.size(); ++i)
        if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            throw std::invalid_argument("histogram " + name + ": bucket bounds must be finite and increasing");
    auto &f = add(std::make_unique<HistogramFamily>(std::move(name), std::move(help), std::move(label_names),
                                                    std::move(bounds)));
    if (f.label_count() == 0) f.with({});
    return f;
}

void Registry::write(TextWriter &out) const {
    std::lock_guard lock(mutex_);
    for (const auto &[name, family] : families_) family->write(out);
}

std::string Registry::text() const {
    TextWriter out;
    write(out);
    return out.take();
}

}  // namespace systemk::metrics
