#pragma once
// Counters, gauges and histograms with label values, for the agent's own /metrics. Updates are
// lock-free atomics on a child the caller may keep (a reference stays valid for the registry's
// lifetime); only finding or creating a child by its label values takes the family's mutex.
// The kubelet API's thread reads while the event loop and the plugin threads update.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/text_format.h"

namespace systemk::metrics {

class Counter {
public:
    // `amount` must not be negative (a counter only goes up; ignored otherwise).
    void inc(double amount = 1);
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

class Gauge {
public:
    void set(double value) { value_.store(value, std::memory_order_relaxed); }
    void inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
    void dec(double amount = 1) { value_.fetch_sub(amount, std::memory_order_relaxed); }
    double value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};
};

class Histogram {
public:
    // `bounds`: the upper bounds (le) of the buckets, increasing, without +Inf.
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    void observe(std::chrono::steady_clock::duration elapsed) {
        observe(std::chrono::duration<double>(elapsed).count());
    }

    struct Snapshot {
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf
        uint64_t count = 0;                // equals the +Inf bucket
        double sum = 0;
    };
    // Read while others observe: the counts agree with each other (count is the +Inf bucket),
    // the sum may lag an observation in flight.
    Snapshot snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative; last: +Inf
    std::atomic<double> sum_{0};
};

// Orders label-value lists of any string-like elements, so a child is found without building
// its key (no allocation once it exists).
struct LabelValuesLess {
    using is_transparent = void;
    template <class A, class B> bool operator()(const A &a, const B &b) const {
        return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                            [](std::string_view x, std::string_view y) { return x < y; });
    }
};

class FamilyBase {
public:
    FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
        : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
    virtual ~FamilyBase() = default;
    const std::string &name() const { return name_; }
    size_t label_count() const { return label_names_.size(); }
    // HELP, TYPE and every child; nothing for a labelled family without children yet.
    virtual void write(TextWriter &out) const = 0;

protected:
    Labels labels_of(const std::vector<std::string> &values) const;
    void check_arity(size_t values) const;

    std::string name_, help_;
    std::vector<std::string> label_names_;
};

template <class Metric> class Family : public FamilyBase {
public:
    using FamilyBase::FamilyBase;
    // The child for these label values (one per label name, in order), made on first use.
    // Throws std::invalid_argument when the number of values is wrong.
    Metric &with(std::initializer_list<std::string_view> values) { return child(values); }
    Metric &with(const std::vector<std::string_view> &values) { return child(values); }

protected:
    template <class Values> Metric &child(const Values &values) {
        check_arity(values.size());
        std::lock_guard lock(mutex_);
        auto it = children_.find(values);
        if (it == children_.end())
            it = children_.emplace(std::vector<std::string>(values.begin(), values.end()), make()).first;
        return *it->second;
    }
    virtual std::unique_ptr<Metric> make() const = 0;
    // A stable copy of the children to write from (the metrics themselves are read atomically).
    std::vector<std::pair<std::vector<std::string>, const Metric *>> children() const {
        std::lock_guard lock(mutex_);
        std::vector<std::pair<std::vector<std::string>, const Metric *>> out;
        out.reserve(children_.size());
        for (const auto &[values, metric] : children_) out.emplace_back(values, metric.get());
        return out;
    }

    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<Metric>, LabelValuesLess> children_;
};

class CounterFamily final : public Family<Counter> {
public:
    using Family::Family;
    void write(TextWriter &out) const override;

private:
    std::unique_ptr<Counter> make() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily final : public Family<Gauge> {
public:
    using Family::Family;
    void write(TextWriter &out) const override;

private:
    std::unique_ptr<Gauge> make() const override { return std::make_unique<Gauge>(); }
};

class HistogramFamily final : public Family<Histogram> {
public:
    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
        : Family(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}
    void write(TextWriter &out) const override;

private:
    std::unique_ptr<Histogram> make() const override { return std::make_unique<Histogram>(bounds_); }
    std::vector<double> bounds_;
};

// Bucket bounds in seconds for operations from a millisecond to minutes (a package install).
const std::vector<double> &duration_buckets();

class Registry {
public:
    // Families are made once, usually at start; names must be unique and valid Prometheus names
    // (counters end in _total, as promtool wants), label names valid and not "le" for
    // histograms, buckets increasing. A violation is a programming error: std::invalid_argument.
    // A family without labels has its one child from the start, so it is written as 0.
    CounterFamily &counter(std::string name, std::string help, std::vector<std::string> label_names = {});
    GaugeFamily &gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
    HistogramFamily &histogram(std::string name, std::string help, std::vector<std::string> label_names,
                               std::vector<double> bounds);

    // Every family, by name.
    void write(TextWriter &out) const;
    std::string text() const;

private:
    template <class F> F &add(std::unique_ptr<F> family);

    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
};

// Whether `name` is a valid metric name / label name in the text format.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// A bucket bound as Prometheus clients print it: shortest round-trip form ("0.005", "1", "+Inf").
std::string format_bound(double bound);

}  // namespace systemk::metrics
