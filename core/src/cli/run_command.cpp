// `systemk run`: the node agent.
#include <spdlog/spdlog.h>
#include <fmt/ranges.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/plugin_options.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/referenced_objects.h"
#include "kube/token_manager.h"
#include "metrics/agent_metrics.h"
#include "node/addresses.h"
#include "node/node_agent.h"
#include "pods/reconciler.h"
#include "server/kubelet_server.h"
#include "stats/stats_collector.h"
#include "systemd/unit_manager.h"
#include "util/memory_trim.h"
#include "bootstrap/certificate_rotation.h"
#include "bootstrap/credentials.h"
#include "bootstrap/join.h"

#ifndef SYSTEMK_VERSION
#define SYSTEMK_VERSION "0.0.0"
#endif

namespace systemk::cli {
namespace {

namespace asio = kube::asio;
using namespace std::chrono_literals;

std::vector<OptionSpec> run_specs(bool join) {
    auto specs = std::vector<OptionSpec>{
        {"--config", {}, true, "YAML file with any of these settings (keys are the flag names without '--'); flags win"},
        {"--kubeconfig", {}, true, "kubeconfig with the node's credentials (default: $KUBECONFIG, then ~/.kube/config)"},
        {"--nodename", {}, true, "name of the Node object (default: the host name)"},
        {"--node-ip", {"--internal-ip"}, true, "InternalIP of the node (default: first private address)"},
        {"--node-external-ip", {"--external-ip"}, true, "ExternalIP of the node (default: first public address)"},
        {"--internal-iface", {}, true, "look for the InternalIP on this interface only"},
        {"--external-iface", {}, true, "look for the ExternalIP on this interface only"},
        {"--disable-taint", {}, false, "do not taint the node with virtual-kubelet.io/provider=systemk:NoSchedule"},
        {"--addr", {}, true, "address of the kubelet HTTPS API, [host]:port (default :10250)"},
        {"--certfile", {"--tls-cert"}, true, "serving certificate of the kubelet HTTPS API"},
        {"--keyfile", {"--tls-key"}, true, "serving key of the kubelet HTTPS API"},
        {"--client-ca-file", {}, true, "CA bundle that client certificates of the kubelet API must chain to (default: the kubeconfig's CA)"},
        {"--cluster-domain", {}, true, "cluster DNS domain (default cluster.local)"},
        {"--override-root-uid", {}, true, "run containers that ask for uid 0 as this uid instead"},
        {"--state-dir", {}, true, "where pod data lives (default /var/lib/systemk)"},
        {"--runtime-dir", {}, true, "tmpfs for secrets, tokens and subPath pins (default /run/systemk)"},
        {"--max-pods", {}, true, "pods capacity to report (default 110)"},
        {"--unit-dir", {}, true, "where pod unit files are written (default /run/systemd/system)"},
        {"--kube-api-qps", {}, true, "requests per second to the API server (default 100)"},
        {"--kube-api-burst", {}, true, "requests allowed in a burst above --kube-api-qps (default 200)"},
        {"--bootstrap-kubeconfig", {}, true,
         "kubeconfig with bootstrap credentials: when --kubeconfig (default <state-dir>/pki/kubeconfig) has no valid "
         "client certificate, request one with these and write it there"},
        {"--rotate-server-certificates", {}, false,
         "without --certfile: request the kubelet API's serving certificate with a kubernetes.io/kubelet-serving CSR "
         "and renew it (on by default for nodes that joined with systemk join or --bootstrap-kubeconfig)"},
        {"--rotate-certificates", {}, false,
         "renew the client certificate at 70-90 % of its lifetime (on by default for credentials systemk obtained)"},
    };
    if (join) {
        specs.push_back({"--server", {}, true, "API server URL, https://host:port (required)"});
        specs.push_back({"--token", {"--discovery-token"}, true,
                         "bootstrap token, [a-z0-9]{6}.[a-z0-9]{16} (or --token-file; prefer either in the --config "
                         "file: a command line is readable by every local user)"});
        specs.push_back({"--token-file", {}, true, "file holding the bootstrap token"});
        specs.push_back({"--ca-cert-hash", {"--discovery-token-ca-cert-hash"}, true,
                         "sha256:<hex> of the cluster CA's public key, as kubeadm prints it (required, repeatable)"});
    }
    for (auto &p : plugin_option_specs()) specs.push_back(p);
    specs.push_back({"--help", {"-h"}, false, "show this help"});
    return specs;
}

// Turns a config file into flags placed before the command line's, so the command line wins.
std::vector<std::string> with_config_file(const std::vector<std::string> &args, const std::vector<OptionSpec> &specs) {
    std::string file;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) file = args[i + 1];
        else if (args[i].rfind("--config=", 0) == 0) file = args[i].substr(9);
    }
    if (file.empty()) return args;
    YAML::Node root;
    try {
        root = YAML::LoadFile(file);
    } catch (const YAML::Exception &e) {
        throw UsageError("config file " + file + ": " + e.what());
    }
    if (!root.IsMap()) throw UsageError("config file " + file + " is not a mapping");
    std::vector<std::string> out;
    for (const auto &kv : root) {
        const auto name = "--" + kv.first.as<std::string>();
        const auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec &s) { return s.name == name; });
        if (spec == specs.end() || name == "--config") throw UsageError("config file " + file + ": unknown setting " + name.substr(2));
        if (!spec->takes_value) {
            if (kv.second.as<bool>()) out.push_back(name);
        } else if (kv.second.IsSequence()) {
            for (const auto &item : kv.second) out.insert(out.end(), {name, item.as<std::string>()});
        } else {
            out.insert(out.end(), {name, kv.second.as<std::string>()});
        }
    }
    out.insert(out.end(), args.begin(), args.end());
    return out;
}

int parse_port(const std::string &addr) {
    const auto colon = addr.rfind(':');
    try {
        const int port = std::stoi(colon == std::string::npos ? addr : addr.substr(colon + 1));
        if (port <= 0 || port > 65535) throw std::out_of_range("port");
        return port;
    } catch (const std::exception &) {
        throw UsageError("--addr '" + addr + "' has no valid port");
    }
}

// "a,b" and "a" -> items, without empty ones.
std::vector<std::string> split_list(const std::string &text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) out.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// The bootstrap token from --token or --token-file. A token on the command line stays in
// /proc/PID/cmdline for the agent's lifetime: say so.
std::string bootstrap_token_text(const Options &options, const std::vector<std::string> &raw_args) {
    if (const auto file = options.get("--token-file")) {
        std::ifstream in(*file);
        if (!in) throw UsageError("cannot read --token-file " + *file);
        std::string token;
        std::getline(in, token);
        while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
        return token;
    }
    const auto token = options.get("--token");
    if (!token) throw UsageError("--token or --token-file is required");
    for (const auto &a : raw_args)
        if (a == "--token" || a.starts_with("--token=") || a == "--discovery-token" || a.starts_with("--discovery-token=")) {
            spdlog::warn("the bootstrap token is on the command line, where every local user can read it while the agent "
                         "runs: put it in the --config file or a --token-file instead");
            break;
        }
    return *token;
}

// The host part of --addr ("" for every address); brackets around IPv6 removed.
std::string parse_host(const std::string &addr) {
    const auto colon = addr.rfind(':');
    auto host = colon == std::string::npos ? std::string() : addr.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return host;
}

std::string read_text_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The names and addresses the kubelet API is reached by (SANs of its certificate).
std::pair<std::vector<std::string>, std::vector<std::string>> serving_names(const node::NodeSettings &settings,
                                                                           const std::string &hostname) {
    std::vector<std::string> names{settings.name};
    if (hostname != settings.name) names.push_back(hostname);
    std::vector<std::string> ips{settings.addresses.internal_ip};
    if (settings.addresses.external_ip != settings.addresses.internal_ip) ips.push_back(settings.addresses.external_ip);
    return {names, ips};
}

// The kubelet API's TLS: --certfile/--keyfile (both or neither); else, when systemk manages the
// serving certificate, the file `managed_pem` (a self-signed placeholder until a
// kubelet-serving CSR is signed, then renewed by the rotation); else a self-signed certificate
// for the node's names and addresses, its fingerprint logged so that a client can pin it.
std::unique_ptr<server::ServingTls> serving_tls(const Options &options, const kube::Kubeconfig &kubeconfig,
                                                const node::NodeSettings &settings, const std::string &hostname,
                                                const std::filesystem::path &managed_pem) {
    auto client_ca = kubeconfig.ca_pem;
    if (const auto file = options.get("--client-ca-file")) client_ca = read_text_file(*file);
    if (client_ca.empty())
        spdlog::warn("kubelet API: no client CA (neither --client-ca-file nor a CA in the kubeconfig): client certificates are not accepted, only bearer tokens");
    const auto cert = options.get("--certfile"), key = options.get("--keyfile");
    if (cert.has_value() != key.has_value()) throw UsageError("--certfile and --keyfile go together");
    if (cert) return std::make_unique<server::ServingTls>(*cert, *key, client_ca);
    const auto [names, ips] = serving_names(settings, hostname);
    auto pair = server::make_self_signed(settings.name + "@" + std::to_string(std::time(nullptr)), names, ips);
    if (!managed_pem.empty()) {
        std::string why;
        if (!bootstrap::certificate_file_usable(managed_pem, std::chrono::minutes(1), why)) {
            spdlog::info("kubelet API: {} ({}); serving a self-signed certificate until a kubelet-serving CSR is signed",
                         managed_pem.string(), why);
            bootstrap::write_certificate_and_key(managed_pem, pair.cert_pem, pair.key_pem);
        }
        return std::make_unique<server::ServingTls>(managed_pem, managed_pem, client_ca);
    }
    spdlog::info("kubelet API: serving a self-signed certificate for {} {}, SHA-256 fingerprint {}", fmt::join(names, ","),
                 fmt::join(ips, ","), server::sha256_fingerprint(pair.cert_pem));
    return std::make_unique<server::ServingTls>(std::move(pair), client_ca);
}

// A positive number from a flag, or the default.
double positive_number(const Options &options, const std::string &flag, double fallback) {
    const auto value = options.get(flag);
    if (!value) return fallback;
    try {
        size_t used = 0;
        const double v = std::stod(*value, &used);
        if (used == value->size() && v > 0) return v;
    } catch (const std::exception &) {
    }
    throw UsageError(flag + " wants a positive number, not '" + *value + "'");
}

}  // namespace

namespace {

int agent_command(const std::vector<std::string> &raw_args, bool join) {
    const auto specs = run_specs(join);
    const Options options(specs, with_config_file(raw_args, specs));
    if (options.flag("--help")) {
        if (join)
            std::cout << "Usage: systemk join --server URL --token TOKEN --ca-cert-hash sha256:HEX [run options]\n"
                         "Obtains the node's client certificate with a bootstrap token (the kubeadm join model),\n"
                         "unless valid credentials exist already, then runs the agent.\n\n";
        else
            std::cout << "Usage: systemk run [options]\n"
                         "Joins the cluster as a node and runs its pods as systemd units.\n\n";
        std::cout << format_help(specs);
        return 0;
    }

    char host[256] = {};
    gethostname(host, sizeof host - 1);
    const std::string node_name = options.get_or("--nodename", host);
    const auto state_dir = options.get_or("--state-dir", "/var/lib/systemk");
    std::filesystem::path kc_path;
    bool obtained_credentials = false;
    if (join || options.get("--bootstrap-kubeconfig")) {
        bootstrap::JoinSettings js;
        js.node_name = node_name;
        js.state_dir = state_dir;
        js.kubeconfig = options.get_or("--kubeconfig", bootstrap::credential_paths(state_dir).kubeconfig.string());
        try {
            if (join) {
                for (const auto *required : {"--server", "--ca-cert-hash"})
                    if (!options.get(required)) throw UsageError(std::string(required) + " is required");
                js.server = *options.get("--server");
                if (js.server.find("://") == std::string::npos) js.server = "https://" + js.server;  // kubeadm's host:port
                js.token = bootstrap::parse_bootstrap_token(bootstrap_token_text(options, raw_args));
                // Repeated, or comma-separated as kubeadm prints them.
                for (const auto &flag : options.all("--ca-cert-hash"))
                    for (const auto &pin : split_list(flag)) js.ca_pins.push_back(bootstrap::parse_ca_pin(pin));
            } else {
                js.bootstrap_kubeconfig = *options.get("--bootstrap-kubeconfig");
            }
        } catch (const bootstrap::JoinError &e) {
            throw UsageError(e.what());
        }
        std::string why;
        // Credentials of another node or (on join) another cluster are not reused silently.
        if (bootstrap::credentials_usable(js.kubeconfig, std::chrono::minutes(1), "system:node:" + node_name, js.ca_pins,
                                          why)) {
            spdlog::info("node credentials in {} are valid: no bootstrap needed", js.kubeconfig.string());
        } else {
            spdlog::info("bootstrapping the node's credentials ({})", why);
            try {
                bootstrap::obtain_node_credentials(js);
            } catch (const std::exception &e) {
                spdlog::error("joining the cluster failed: {}", e.what());
                return 1;
            }
        }
        kc_path = js.kubeconfig;
        obtained_credentials = true;
    } else {
        kc_path = kube::find_kubeconfig(options.get_or("--kubeconfig", ""));
    }

    kube::Kubeconfig kubeconfig;
    try {
        kubeconfig = kube::load_kubeconfig(kc_path);
    } catch (const kube::KubeconfigError &e) {
        spdlog::error("bad kubeconfig: {}", e.what());
        return 1;
    }

    node::NodeSettings settings;
    settings.name = node_name;
    settings.taint = !options.flag("--disable-taint");
    settings.kubelet_port = parse_port(options.get_or("--addr", ":10250"));
    settings.agent_version = SYSTEMK_VERSION;
    try {
        settings.max_pods = std::stoll(options.get_or("--max-pods", "110"));
    } catch (const std::exception &) {
        throw UsageError("--max-pods wants a number");
    }
    try {
        settings.addresses = node::choose_addresses(
            node::host_interface_addresses(),
            {options.get_or("--node-ip", ""), options.get_or("--node-external-ip", ""),
             options.get_or("--internal-iface", ""), options.get_or("--external-iface", "")});
    } catch (const node::AddressError &e) {
        spdlog::error("{}", e.what());
        return 1;
    }

    util::limit_malloc_arenas();  // before the first thread
    const double api_qps = positive_number(options, "--kube-api-qps", kube::ApiClient::kDefaultQps);
    const double api_burst = positive_number(options, "--kube-api-burst", kube::ApiClient::kDefaultBurst);

    asio::io_context io;
    std::unique_ptr<kube::ApiClient> client;
    try {
        client = std::make_unique<kube::ApiClient>(io.get_executor(), kubeconfig, api_qps, api_burst);
    } catch (const kube::KubeconfigError &e) {
        spdlog::error("bad kubeconfig: {}", e.what());
        return 1;
    }
    int exit_code = 0;
    std::unique_ptr<bootstrap::CertificateRotator> rotator;
    if (obtained_credentials || options.flag("--rotate-certificates")) {
        if (!kubeconfig.client_cert_file.empty() && kubeconfig.client_cert_file == kubeconfig.client_key_file) {
            auto rotated = bootstrap::client_certificate(kubeconfig.client_cert_file, settings.name, *client);
            if (obtained_credentials)
                rotated.expired = [&] {
                    spdlog::error("the client certificate expired and could not be renewed; exiting so that a restart "
                                  "bootstraps again");
                    exit_code = 1;
                    io.stop();
                };
            rotator = std::make_unique<bootstrap::CertificateRotator>(io, *client, std::move(rotated));
            rotator->start();
        } else {
            spdlog::warn("certificate rotation needs the client certificate and key in one file, as systemk join "
                         "writes them; {} has them apart or inline: not rotating", kc_path.string());
        }
    }
    spdlog::info("systemk {} starting: node={} server={} internalIP={} externalIP={}", SYSTEMK_VERSION, settings.name,
                 kubeconfig.server, settings.addresses.internal_ip, settings.addresses.external_ip);

    plugins::PluginRegistry plugin_registry;
    load_plugins(options, plugin_registry);
    std::unique_ptr<systemd::UnitManager> unit_manager;
    try {
        unit_manager = std::make_unique<systemd::UnitManager>(io, options.get_or("--unit-dir", "/run/systemd/system"));
    } catch (const std::exception &e) {
        spdlog::warn("systemd is not usable ({}); the node stays NotReady and runs no pods", e.what());
    }
    pods::NodeContext node_context;
    node_context.node_name = settings.name;
    node_context.internal_ip = settings.addresses.internal_ip;
    node_context.external_ip = settings.addresses.external_ip;
    node_context.api_server_host = kubeconfig.host;
    node_context.api_server_port = kubeconfig.port;
    node_context.state_dir = state_dir;
    node_context.runtime_dir = options.get_or("--runtime-dir", node_context.runtime_dir);
    if (const auto uid = options.get("--override-root-uid")) node_context.override_root_uid = std::stoll(*uid);
    node_context.unit_dir = options.get_or("--unit-dir", "/run/systemd/system");
    node_context.user_exists = [](int64_t uid) { return ::getpwuid(static_cast<uid_t>(uid)) != nullptr; };
    node_context.group_exists = [](int64_t gid) { return ::getgrgid(static_cast<gid_t>(gid)) != nullptr; };
    // The agent's credentials are out of every pod's reach (InaccessiblePaths=).
    for (const auto &p : {kc_path, kubeconfig.client_key_file, kubeconfig.token_file,
                          std::filesystem::path(options.get_or("--keyfile", "")),
                          std::filesystem::path(options.get_or("--bootstrap-kubeconfig", "")),
                          std::filesystem::path(options.get_or("--token-file", ""))})
        if (!p.empty()) node_context.private_paths.push_back(std::filesystem::absolute(p).string());

    util::IdleMemoryTrimmer trimmer(io, std::chrono::seconds(5));
    kube::ObjectCache pods;
    kube::ReferencedObjects referenced(*client, io.get_executor());
    kube::TokenManager tokens(*client, io.get_executor());
    std::unique_ptr<pods::Reconciler> reconciler;
    if (unit_manager) {
        reconciler = std::make_unique<pods::Reconciler>(io, *client, *unit_manager, plugin_registry, node_context, pods,
                                                        referenced, tokens);
        unit_manager->on_change([&](const std::string &unit) {
            trimmer.activity();
            reconciler->unit_changed(unit);
        });
        referenced.config_maps().set_listener([&](const std::string &key, const boost::json::object *) { reconciler->object_changed(key); });
        referenced.secrets().set_listener([&](const std::string &key, const boost::json::object *) { reconciler->object_changed(key); });
    }
    pods.set_listener([&](const std::string &key, const boost::json::object *pod) {
        referenced.update_pod(key, pod);
        trimmer.activity();
        if (reconciler) reconciler->enqueue(key);
    });
    auto pod_informer = std::make_shared<kube::Informer>(
        *client, "/api/v1/pods", "fieldSelector=" + kube::url_encode("spec.nodeName=" + settings.name), pods, "pods");
    node::NodeAgent agent(*client, settings, state_dir, [&] { return pod_informer->synced(); });

    // Every `kubectl logs -f` holds the journal's files open: allow as many descriptors as
    // the service may have (systemd's soft limit of 1024 is for select() users; Asio uses epoll).
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    // The kubelet API opens first, as the kubelet's does; it has a thread of its own.
    server::NodeView view;
    view.node_name = settings.name;
    view.pod = [&pods](const std::string &key) { return pods.get(key); };
    view.pods = [&pods] { return pods.list(); };
    view.agent_metrics = [&pods] { return metrics::agent_metrics_text(pods.list()); };
    view.current_run = [&io, units = unit_manager.get()](const std::string &unit) -> asio::awaitable<std::optional<server::UnitRun>> {
        if (!units) co_return std::nullopt;
        // Asked on the agent's loop, where the systemd connection lives; this side just waits.
        auto ask = [units, unit]() -> asio::awaitable<systemd::UnitState> { co_return co_await units->state(unit); };
        const auto state = co_await asio::co_spawn(io, std::move(ask), asio::use_awaitable);
        if (!state.read_ok) co_return std::nullopt;
        // RemainAfterExit=yes keeps a finished container's unit "active (exited)": the process
        // is what counts. A unit being started has no main process yet.
        co_return server::UnitRun{state.invocation_id, state.main_pid != 0 || state.active_state == "activating"};
    };
    // Read on the kubelet API's thread only (its io_context runs on one thread).
    stats::StatsCollector stats_collector(node_context, [&pods] { return pods.list(); });
    view.stats_summary = [&stats_collector] { return stats_collector.summary(); };
    view.resource_metrics = [&stats_collector] { return stats_collector.resource_metrics(); };
    std::unique_ptr<server::KubeletServer> kubelet_api;
    std::unique_ptr<bootstrap::CertificateRotator> serving_rotator;
    const bool manage_serving =
        !options.get("--certfile") && (obtained_credentials || options.flag("--rotate-server-certificates"));
    const auto serving_pem = manage_serving ? std::filesystem::path(state_dir) / "pki" / "serving-current.pem"
                                            : std::filesystem::path();
    try {
        kubelet_api = std::make_unique<server::KubeletServer>(parse_host(options.get_or("--addr", ":10250")),
                                                              static_cast<unsigned short>(settings.kubelet_port),
                                                              serving_tls(options, kubeconfig, settings, host, serving_pem),
                                                              kubeconfig, view);
        kubelet_api->start();
        if (manage_serving) {
            auto [names, ips] = serving_names(settings, host);
            serving_rotator = std::make_unique<bootstrap::CertificateRotator>(
                io, *client, bootstrap::serving_certificate(serving_pem, settings.name, names, ips));
            serving_rotator->start();
        }
    } catch (const std::exception &e) {
        spdlog::error("kubelet API on {} cannot start: {}", options.get_or("--addr", ":10250"), e.what());
        return 1;
    }
    std::unique_ptr<node::LeaseKeeper> lease;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code &ec, int signal) {
        if (ec) return;
        spdlog::info("received {}, stopping; pod units keep running", signal == SIGTERM ? "SIGTERM" : "SIGINT");
        io.stop();
    });
    asio::co_spawn(io, pod_informer->run(), asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // Kubernetes' start-up order: pods listed first, then reconcile, then the node and
            // Ready. The reconciler waits for the pod list however long it takes: with an empty
            // cache every pod's units would look orphaned and be removed (with their data).
            asio::steady_timer wait(io);
            for (int tries = 0; !pod_informer->synced(); ++tries) {
                // A certificate or credentials the server rejects: retrying cannot help.
                if (const auto &why = pod_informer->rejection(); !why.empty())
                    throw node::FatalError(why + " (check the kubeconfig " + kubeconfig.source.string() + ")");
                if (tries == 30)
                    spdlog::warn("waiting for the API server to list this node's pods; pod units are left alone until then");
                wait.expires_after(100ms);
                co_await wait.async_wait(asio::use_awaitable);
            }
            if (reconciler) reconciler->start();
            co_await agent.register_node();
            lease = std::make_unique<node::LeaseKeeper>(kubeconfig, settings.name, agent.node_uid());
            lease->start();
            co_await agent.status_loop();
        },
        [&](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const node::FatalError &f) {
                spdlog::error("{}", f.what());
            } catch (const std::exception &x) {
                spdlog::error("node agent stopped: {}", x.what());
            }
            exit_code = 1;
            io.stop();
        });
    io.run();
    if (lease) lease->stop();
    spdlog::info("systemk stopped");
    // Pod units keep running and every file is written atomically: nothing needs tearing down.
    // Leaving at once also skips destroying coroutines suspended in systemd and API calls
    // (GCC 12 can destroy a suspended coroutine's temporaries twice).
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(exit_code);
}

}  // namespace

int run_command(const std::vector<std::string> &raw_args) { return agent_command(raw_args, false); }
int join_command(const std::vector<std::string> &raw_args) { return agent_command(raw_args, true); }

}  // namespace systemk::cli
