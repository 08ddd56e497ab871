#pragma once
// The API server as the pod engine uses it (status, events, deletion): an interface so that the
// engine's pieces are tested against a fake. In the agent it is the kube::ApiClient.
#include <boost/asio.hpp>

#include <string>

#include "kube/api_client.h"

namespace systemk::pods {

class PodApi {
public:
    virtual ~PodApi() = default;
    virtual boost::asio::awaitable<kube::ApiResponse> request(kube::http::verb verb, std::string target, std::string body,
                                                              std::string content_type) = 0;
};

class ApiClientPodApi final : public PodApi {
public:
    explicit ApiClientPodApi(kube::ApiClient &client) : client_(client) {}
    boost::asio::awaitable<kube::ApiResponse> request(kube::http::verb verb, std::string target, std::string body,
                                                      std::string content_type) override {
        // Events wait behind status writes and deletions (the kubelet's order of importance).
        const auto priority = target.find("/events") != std::string::npos ? kube::Priority::low : kube::Priority::normal;
        co_return co_await client_.request(verb, std::move(target), std::move(body), std::move(content_type), priority);
    }

private:
    kube::ApiClient &client_;
};

}  // namespace systemk::pods
