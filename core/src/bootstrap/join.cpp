#include "bootstrap/join.h"

#include "util/gcc12_coroutines.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "bootstrap/certificate_request.h"
#include "bootstrap/credentials.h"
#include "bootstrap/pki.h"
#include "kube/api_client.h"

namespace systemk::bootstrap {
namespace {

namespace asio = boost::asio;

kube::Kubeconfig anonymous_unverified(const std::string &server) {
    kube::Kubeconfig kc;
    kc.server = server;
    kube::split_server_url(server, kc.host, kc.port);
    kc.insecure_skip_tls_verify = true;  // nothing is trusted from this connection until verified
    kc.source = "--server";
    return kc;
}

asio::awaitable<ClusterInfo> discover(const JoinSettings &s) {
    kube::ApiClient anonymous(co_await asio::this_coro::executor, anonymous_unverified(s.server));
    kube::ApiResponse res;
    try {
        res = co_await anonymous.request(kube::http::verb::get, "/api/v1/namespaces/kube-public/configmaps/cluster-info");
    } catch (const kube::ApiError &e) {
        throw JoinError(std::string("cannot reach ") + s.server + ": " + e.what());
    }
    if (res.status == 401 || res.status == 403)
        throw JoinError("the API server refuses anonymous reads of kube-public/cluster-info (HTTP " + std::to_string(res.status) +
                        "): the cluster needs anonymous authentication on and a Role in kube-public that lets "
                        "system:anonymous get configmaps/cluster-info (kubeadm creates both)");
    if (res.status == 404) throw JoinError("the cluster publishes no kube-public/cluster-info configMap (kubeadm creates it)");
    if (!res.ok()) throw JoinError("reading kube-public/cluster-info failed with HTTP " + std::to_string(res.status));
    boost::json::object cm;
    try {
        cm = res.json().as_object();
    } catch (const std::exception &) {
        throw JoinError("kube-public/cluster-info is not a configMap");
    }
    auto info = verify_cluster_info(cm, *s.token, s.ca_pins);
    spdlog::info("cluster-info verified: signed for token {}, CA pinned (server {})", s.token->id, info.server);
    co_return info;
}

asio::awaitable<std::filesystem::path> join(const JoinSettings &s) {
    kube::Kubeconfig creds;
    std::string server;
    std::string ca_pem;
    if (s.token) {
        const auto info = co_await discover(s);
        server = s.server;
        ca_pem = info.ca_pem;
        creds.server = server;
        kube::split_server_url(server, creds.host, creds.port);
        creds.ca_pem = ca_pem;
        creds.token = s.token->full();
        creds.source = "the bootstrap token";
    } else {
        try {
            creds = kube::load_kubeconfig(s.bootstrap_kubeconfig);
        } catch (const kube::KubeconfigError &e) {
            throw JoinError(std::string("bootstrap kubeconfig: ") + e.what());
        }
        server = creds.server;
        ca_pem = creds.ca_pem;
    }
    const auto key = generate_private_key_pem();
    kube::ApiClient client(co_await asio::this_coro::executor, creds);
    CertificateRequest req;
    req.csr_pem = client_csr_pem(key, s.node_name);
    req.signer = kClientSigner;
    req.usages = kClientUsages;
    std::string cert;
    try {
        cert = co_await request_certificate(client, req);
    } catch (const kube::ApiError &e) {
        throw JoinError(std::string("talking to ") + server + ": " + e.what());
    }
    auto paths = credential_paths(s.state_dir);
    if (!s.kubeconfig.empty()) paths.kubeconfig = s.kubeconfig;
    write_node_credentials(paths, server, ca_pem, cert, key);
    spdlog::info("node credentials written to {} (client certificate valid for {} s)", paths.kubeconfig.string(),
                 std::chrono::duration_cast<std::chrono::seconds>(certificate_validity(cert).not_after -
                                                                  std::chrono::system_clock::now()).count());
    co_return paths.kubeconfig;
}

}  // namespace

const std::vector<std::string> kClientUsages = {"digital signature", "key encipherment", "client auth"};

std::string client_csr_pem(const std::string &key_pem, const std::string &node_name) {
    CsrSubject subject;
    subject.common_name = "system:node:" + node_name;
    subject.organizations = {"system:nodes"};
    return make_csr_pem(key_pem, subject);
}

std::filesystem::path obtain_node_credentials(const JoinSettings &settings) {
    asio::io_context io;
    std::exception_ptr error;
    std::filesystem::path result;
    asio::co_spawn(io, join(settings), [&](std::exception_ptr e, std::filesystem::path p) {
        error = e;
        result = std::move(p);
    });
    io.run();
    if (error) std::rethrow_exception(error);
    return result;
}

}  // namespace systemk::bootstrap
