#pragma once
// Writes pod statuses to the API server, apart from the pod workers (the kubelet's status
// manager): a worker hands over the status a pod should have and goes on; a few writers send
// the newest one per pod, so a burst of changes becomes one write. Each write is a
// strategic-merge patch of /status carrying metadata.uid, so it cannot land on a pod recreated
// under the same name (409), and it names only the conditions the node owns, so other
// writers' conditions (readiness gates, DisruptionTarget) stay. A terminal phase, once
// written, is never written again.
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "pods/pod_api.h"

namespace systemk::pods {

class StatusManager {
public:
    StatusManager(boost::asio::any_io_executor executor, PodApi &api, size_t writers = 4);
    ~StatusManager();

    // The status pod `key` (ns/name, uid) should have. Returns at once.
    void set(const std::string &key, const std::string &ns, const std::string &name, const std::string &uid,
             boost::json::object status);
    void forget(const std::string &key);
    // The newest status handed over for the pod (written or not), or null.
    const boost::json::object *latest(const std::string &key) const;
    size_t pending() const { return queue_.size(); }
    size_t writes() const { return writes_; }

private:
    struct Entry {
        std::string ns, name, uid;
        boost::json::object desired;
        std::string desired_text, written_text;
        bool queued = false;
        bool terminal_written = false;
        int failures = 0;
    };
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> write(const std::string &key);
    void wake();

    boost::asio::any_io_executor executor_;
    PodApi &api_;
    std::map<std::string, Entry> entries_;
    std::deque<std::string> queue_;
    boost::asio::steady_timer wake_;
    size_t writes_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace systemk::pods
