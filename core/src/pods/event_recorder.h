#pragma once
// core/v1 Events for pods, written apart from the pod workers (client-go's recorder and
// EventCorrelator, in small): record() returns at once; the same reason + message for the same
// pod again is one Event whose count and lastTimestamp grow (a PATCH), not a new Event; a
// per-pod token bucket (burst 25, then one per 5 minutes) and a bounded queue drop what is too
// much instead of ever making a pod wait.
#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "pods/pod_api.h"

namespace systemk::pods {

struct EventObject {
    std::string ns, name, uid;
};

class EventRecorder {
public:
    struct Limits {
        double burst = 25;
        std::chrono::seconds refill_every{300};  // one more token per pod this often
        size_t max_queue = 1000;
        size_t max_remembered = 4096;  // aggregation keys kept (oldest forgotten first)
    };
    EventRecorder(boost::asio::any_io_executor executor, PodApi &api, std::string component, std::string host,
                  Limits limits, size_t writers = 2);
    EventRecorder(boost::asio::any_io_executor executor, PodApi &api, std::string component, std::string host)
        : EventRecorder(std::move(executor), api, std::move(component), std::move(host), Limits{}) {}
    ~EventRecorder();

    void record(const EventObject &obj, const std::string &type, const std::string &reason, const std::string &message);
    // The pod is gone: forget its aggregation state and rate limit.
    void forget(const std::string &uid);
    size_t dropped() const { return dropped_; }
    size_t pending() const { return queue_.size(); }

private:
    struct Aggregate {
        EventObject obj;
        std::string type, reason, message;
        std::string event_name;  // once created
        int count = 0;           // occurrences recorded
        int written_count = 0;   // count the API has
        std::string first, last;
        bool queued = false, in_flight = false;
    };
    struct Bucket {
        double tokens;
        std::chrono::steady_clock::time_point last;
    };
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> write(const std::string &key);
    bool take_token(const std::string &uid);

    boost::asio::any_io_executor executor_;
    PodApi &api_;
    std::string component_, host_;
    Limits limits_;
    std::map<std::string, Aggregate> aggregates_;
    std::list<std::string> order_;  // aggregation keys, oldest first
    std::map<std::string, Bucket> buckets_;
    std::deque<std::string> queue_;
    boost::asio::steady_timer wake_;
    size_t dropped_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::pods
