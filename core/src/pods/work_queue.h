#pragma once
// Per-key serialized work, many keys at once (the kubelet's pod workers): at most one worker
// runs per key; an add while it runs marks the key dirty so the worker runs once more after it
// finishes (level-triggered: the worker reads the current state, so one more run is enough).
// Different keys run concurrently as coroutines on one io_context, up to a limit.
#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace systemk::pods {

class WorkQueue {
public:
    using Worker = std::function<boost::asio::awaitable<void>(std::string key)>;
    WorkQueue(boost::asio::any_io_executor executor, Worker worker, size_t max_running = 256);
    ~WorkQueue();

    void add(const std::string &key);
    // Adds the key after `delay`; of several pending delays for a key the earliest wins.
    void add_after(const std::string &key, std::chrono::milliseconds delay);
    size_t running() const { return running_.size(); }
    size_t waiting() const { return waiting_.size(); }
    bool busy(const std::string &key) const { return running_.count(key) != 0; }

private:
    void launch(const std::string &key);
    void finished(const std::string &key);
    void publish_depth() const;  // to the agent's metrics

    boost::asio::any_io_executor executor_;
    Worker worker_;
    size_t max_running_;
    std::set<std::string> running_;
    std::set<std::string> dirty_;       // added while running
    std::deque<std::string> waiting_;   // over the limit, in order
    std::set<std::string> queued_;      // in waiting_
    std::map<std::string, std::unique_ptr<boost::asio::steady_timer>> timers_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::pods
