#pragma once
// List+watch of one collection into an ObjectCache: resourceVersion tracking, bookmarks,
// 410 Gone -> relist, reconnect with capped exponential backoff and jitter. Several informers
// may share one cache (one per referenced secret): each relist replaces only the keys that
// informer itself put there.
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "kube/api_client.h"
#include "kube/object_cache.h"

namespace systemk::kube {

class Informer : public std::enable_shared_from_this<Informer> {
public:
    // `collection` e.g. "/api/v1/pods"; `selector` a query fragment such as
    // "fieldSelector=spec.nodeName%3Dnode1" (already encoded), may be empty.
    Informer(ApiClient &client, std::string collection, std::string selector, ObjectCache &cache, std::string label);

    asio::awaitable<void> run();
    void stop() { stopped_ = true; }
    bool synced() const { return synced_; }
    // Why the server rejected this client's configuration (its certificate failed verification,
    // or HTTP 401), empty otherwise. The informer keeps retrying; the caller may give up.
    const std::string &rejection() const { return rejection_; }
    const std::string &label() const { return label_; }

private:
    asio::awaitable<void> list();
    asio::awaitable<void> watch();
    void handle_event(std::string_view line);
    std::string query(bool watching) const;

    ApiClient &client_;
    std::string collection_, selector_, label_;
    ObjectCache &cache_;
    std::string resource_version_;
    std::set<std::string> owned_;  // keys this informer holds in cache_
    std::string rejection_;
    std::atomic<bool> synced_{false};
    std::atomic<bool> stopped_{false};
    bool relist_ = false;
};

}  // namespace systemk::kube
