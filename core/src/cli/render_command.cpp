#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/plugin_options.h"
#include "kube/kubeconfig.h"
#include "pods/json_access.h"
#include "pods/pod_preparation.h"
#include "pods/yaml_to_json.h"
#include "units/synthesis.h"

namespace systemk::cli {
namespace {

std::string read_input(const std::string &file) {
    std::stringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(file);
        if (!in) throw UsageError("cannot read " + file);
        text << in.rdbuf();
    }
    return text.str();
}

std::string pod_label(const boost::json::object &pod) {
    const auto *meta = pod.if_contains("metadata");
    if (!meta || !meta->is_object()) return "<unnamed>";
    const auto &m = meta->get_object();
    const auto *ns = m.if_contains("namespace");
    const auto *name = m.if_contains("name");
    return std::string(ns && ns->is_string() ? ns->get_string() : "default") + "/" +
           std::string(name && name->is_string() ? name->get_string() : "<unnamed>");
}

}  // namespace

int render_command(const std::vector<std::string> &args) {
    auto specs = plugin_option_specs();
    specs.insert(specs.begin(), {
        {"--filename", {"-f"}, true, "pod manifest (YAML or JSON, several documents allowed; - for stdin)"},
        {"--output-dir", {"-o"}, true, "write each unit into this directory instead of printing"},
        {"--node-ip", {"--internal-ip"}, true, "the node's internal IP (SYSTEMK_NODE_INTERNAL_IP, status.podIP)"},
        {"--node-external-ip", {"--external-ip"}, true, "the node's external IP (SYSTEMK_NODE_EXTERNAL_IP)"},
        {"--nodename", {}, true, "the node's name (default: the host name)"},
        {"--api-server", {}, true, "API server URL the pods should use (KUBERNETES_SERVICE_HOST/PORT)"},
        {"--state-dir", {}, true, "where pod volumes live (default /var/lib/systemk)"},
        {"--runtime-dir", {}, true, "tmpfs for secret volumes and subPath pins (default /run/systemk)"},
        {"--override-root-uid", {}, true, "run containers that ask for uid 0 as this uid instead"},
    });
    specs.push_back({"--help", {"-h"}, false, "show this help"});
    const Options options(specs, args);
    if (options.flag("--help")) {
        std::cout << "Usage: systemk render -f POD.yaml [options]\n"
                     "Prints the systemd units systemk would write for the pods in a manifest.\n"
                     "Needs no cluster and no systemd; images are resolved without installing.\n\n"
                  << format_help(specs);
        return 0;
    }
    const auto file = options.get("--filename");
    if (!file) throw UsageError("render needs -f FILE");

    pods::NodeContext node;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    node.node_name = options.get_or("--nodename", host);
    node.internal_ip = options.get_or("--node-ip", "");
    node.external_ip = options.get_or("--node-external-ip", node.internal_ip);
    if (node.internal_ip.empty()) node.internal_ip = node.external_ip;
    node.state_dir = options.get_or("--state-dir", node.state_dir);
    node.runtime_dir = options.get_or("--runtime-dir", node.runtime_dir);
    if (const auto server = options.get("--api-server")) {
        try {
            kube::split_server_url(*server, node.api_server_host, node.api_server_port);
        } catch (const kube::KubeconfigError &e) {
            throw UsageError(std::string("--api-server: ") + e.what());
        }
    }
    if (const auto uid = options.get("--override-root-uid")) {
        try {
            node.override_root_uid = std::stoll(*uid);
        } catch (const std::exception &) {
            throw UsageError("--override-root-uid wants a number");
        }
    }

    plugins::PluginRegistry registry;
    load_plugins(options, registry);
    const pods::OfflineLookup offline;

    std::vector<boost::json::value> docs;
    try {
        docs = pods::parse_manifests(read_input(*file));
    } catch (const std::runtime_error &e) {
        std::cerr << "systemk render: " << *file << ": " << e.what() << "\n";
        return 1;
    }
    const auto out_dir = options.get("--output-dir");
    if (out_dir) std::filesystem::create_directories(*out_dir);
    int failures = 0;
    bool first = true;
    for (const auto &doc : docs) {
        if (!doc.is_object()) {
            std::cerr << "systemk render: " << *file << ": a document is not an object\n";
            ++failures;
            continue;
        }
        const auto &pod = doc.get_object();
        const auto *kind = pod.if_contains("kind");
        if (!kind || !kind->is_string() || kind->get_string() != "Pod") {
            std::cerr << "systemk render: " << *file << ": skipping a document that is not a Pod\n";
            continue;
        }
        try {
            units::PodInputs in;
            in.pod = &pod;
            in.node = &node;
            in.objects = &offline;
            in.images = pods::resolve_images(pod, registry, true);
            in.volumes = pods::prepare_volumes(pod, registry, node, true, offline);
            for (const auto &u : units::synthesize_pod_units(in)) {
                const auto text = units::write_unit(u.unit);
                for (const auto &w : u.warnings) std::cerr << "systemk render: " << u.name << ": warning: " << w << "\n";
                if (out_dir) {
                    std::ofstream(std::filesystem::path(*out_dir) / u.name) << text;
                } else {
                    std::cout << (first ? "" : "\n") << "# " << u.name << "\n" << text;
                    first = false;
                }
            }
        } catch (const pods::SpecError &e) {
            std::cerr << "systemk render: pod " << pod_label(pod) << ": " << e.what() << " (" << e.reason() << ")\n";
            ++failures;
        }
    }
    return failures ? 1 : 0;
}

}  // namespace systemk::cli
