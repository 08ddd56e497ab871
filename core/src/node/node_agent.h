#pragma once
// Registers the Node, keeps its status current, and (on a thread of its own, so that no other
// work can make it late) renews its Lease.
#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "kube/api_client.h"
#include "node/host_info.h"
#include "node/node_object.h"

namespace systemk::node {

// Something retrying cannot fix (credentials or certificate rejected, registration refused).
class FatalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class NodeAgent {
public:
    NodeAgent(kube::ApiClient &client, NodeSettings settings, std::string storage_path,
              std::function<bool()> caches_synced);
    // Creates the Node or updates its labels; retries transient failures with backoff.
    kube::asio::awaitable<void> register_node();
    // Writes status when it changes, and at least every 5 minutes; checks every 10 s.
    kube::asio::awaitable<void> status_loop();
    std::string node_uid() const { return uid_; }

private:
    kube::asio::awaitable<void> patch_status(bool force);
    Readiness readiness();

    kube::ApiClient &client_;
    NodeSettings settings_;
    std::string storage_path_;
    std::function<bool()> caches_synced_;
    HostInfo host_;
    std::string uid_;
    std::string last_fingerprint_;
    std::chrono::steady_clock::time_point last_write_{};
    bool last_ready_ = false;
    std::string ready_since_;
};

class LeaseKeeper {
public:
    LeaseKeeper(kube::Kubeconfig config, std::string node_name, std::string node_uid);
    ~LeaseKeeper();
    void start();
    void stop();

private:
    kube::asio::awaitable<void> loop();
    kube::asio::awaitable<void> renew_once();

    kube::Kubeconfig config_;
    std::string name_, uid_;
    kube::asio::io_context io_;
    std::unique_ptr<kube::ApiClient> client_;
    std::thread thread_;
    std::string resource_version_;
    bool exists_ = false;
};

}  // namespace systemk::node
