#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <fstream>

#include "kube/kubeconfig.h"
#include "kube/referenced_objects.h"
#include "node/addresses.h"
#include "node/host_info.h"
#include "node/node_object.h"
#include "pods/yaml_to_json.h"

using namespace systemk;

TEST(Addresses, ClassifiesPrivateAndUsable) {
    EXPECT_TRUE(node::is_private_address("10.1.2.3"));
    EXPECT_TRUE(node::is_private_address("172.31.0.1"));
    EXPECT_FALSE(node::is_private_address("172.32.0.1"));
    EXPECT_TRUE(node::is_private_address("192.168.0.1"));
    EXPECT_TRUE(node::is_private_address("fd00::1"));
    EXPECT_FALSE(node::is_private_address("203.0.113.5"));
    EXPECT_FALSE(node::is_usable_address("127.0.0.1"));
    EXPECT_FALSE(node::is_usable_address("169.254.1.1"));
    EXPECT_FALSE(node::is_usable_address("fe80::1"));
    EXPECT_FALSE(node::is_usable_address("::1"));
    EXPECT_TRUE(node::is_usable_address("2001:db8::1"));
}

TEST(Addresses, DetectionFollowsTheRules) {
    const std::vector<node::InterfaceAddress> all{
        {"lo", "127.0.0.1"}, {"eth0", "203.0.113.5"}, {"eth1", "192.168.1.10"}, {"eth1", "fe80::1"}};
    auto a = node::choose_addresses(all, {});
    EXPECT_EQ(a.internal_ip, "192.168.1.10");
    EXPECT_EQ(a.external_ip, "203.0.113.5");
    a = node::choose_addresses(all, {"10.9.9.9", "", "", ""});
    EXPECT_EQ(a.internal_ip, "10.9.9.9");
    EXPECT_EQ(a.external_ip, "203.0.113.5");
    // Only a private address: it serves as both, never a made-up public one.
    a = node::choose_addresses({{"eth1", "192.168.1.10"}}, {});
    EXPECT_EQ(a.external_ip, "192.168.1.10");
    a = node::choose_addresses({{"eth0", "203.0.113.5"}}, {});
    EXPECT_EQ(a.internal_ip, "203.0.113.5");
    // Interface restriction.
    EXPECT_THROW(node::choose_addresses(all, {"", "", "eth9", "eth9"}), node::AddressError);
    EXPECT_THROW(node::choose_addresses({{"lo", "127.0.0.1"}}, {}), node::AddressError);
}

TEST(NodeObject, LabelsTaintAndStatus) {
    node::NodeSettings s;
    s.name = "n1";
    s.addresses = {"192.168.1.10", "203.0.113.5"};
    s.agent_version = "0.1.0";
    s.systemd_version = "252.38-1~deb12u1";
    node::HostInfo h;
    h.architecture = "amd64";
    h.cpus = 2;
    h.memory_bytes = 4LL << 30;
    h.os_image = "Debian GNU/Linux 12 (bookworm)";
    const auto n = node::new_node(s, h);
    const auto &labels = n.at("metadata").at("labels").as_object();
    EXPECT_EQ(labels.size(), 4u);
    for (const auto &kv : labels) {
        const std::string key(kv.key());
        EXPECT_TRUE(key.starts_with("kubernetes.io/") || key.starts_with("node.kubernetes.io/")) << key;
        EXPECT_FALSE(key.starts_with("node-role.kubernetes.io/"));
    }
    EXPECT_EQ(n.at("spec").at("taints").at(0).at("key").as_string(), "virtual-kubelet.io/provider");
    s.taint = false;
    EXPECT_FALSE(node::new_node(s, h).at("spec").as_object().contains("taints"));

    const node::Readiness ready{true, "KubeletReady", "ok"};
    const auto st1 = node::node_status(s, h, ready, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    const auto st2 = node::node_status(s, h, ready, "2026-01-01T00:00:10Z", "2026-01-01T00:00:00Z");
    EXPECT_EQ(node::status_fingerprint(st1), node::status_fingerprint(st2));  // only the heartbeat moved
    EXPECT_EQ(st1.at("nodeInfo").at("containerRuntimeVersion").as_string(), "systemd 252.38-1~deb12u1");
    EXPECT_EQ(st1.at("capacity").at("memory").as_string(), "4194304Ki");
    EXPECT_EQ(st1.at("addresses").at(0).at("address").as_string(), "192.168.1.10");
    EXPECT_NE(node::rfc3339_micro_now().find('.'), std::string::npos);
}

TEST(HostInfo, ReadsOsReleaseValues) {
    EXPECT_EQ(node::os_release_value("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
                                     "PRETTY_NAME"),
              "Debian GNU/Linux 12 (bookworm)");
    EXPECT_EQ(node::os_release_value("ID=debian\nVERSION_ID=\"12\"\n", "ID"), "debian");
}

TEST(Kubeconfig, ReadsCurrentContextWithDataAndFiles) {
    const auto dir = std::filesystem::temp_directory_path() / "systemk-kubeconfig-test";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "ca.crt") << "CA PEM";
    std::ofstream(dir / "config") << "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
                                     "clusters:\n- name: c1\n  cluster: {server: 'https://[fd00::1]:6443', certificate-authority: ca.crt}\n"
                                     "users:\n- name: u1\n  user: {client-certificate-data: Y2VydA==, client-key-data: a2V5}\n"
                                     "contexts:\n- {name: a, context: {cluster: nope, user: u1}}\n- {name: b, context: {cluster: c1, user: u1}}\n";
    const auto kc = kube::load_kubeconfig(dir / "config");
    EXPECT_EQ(kc.host, "fd00::1");
    EXPECT_EQ(kc.port, "6443");
    EXPECT_EQ(kc.ca_pem, "CA PEM");
    EXPECT_EQ(kc.client_cert_pem, "cert");
    EXPECT_EQ(kc.client_key_pem, "key");
    std::ofstream(dir / "bad") << "apiVersion: v1\ncurrent-context: x\n";
    EXPECT_THROW(kube::load_kubeconfig(dir / "bad"), kube::KubeconfigError);
    EXPECT_THROW(kube::load_kubeconfig(dir / "missing"), kube::KubeconfigError);
    std::filesystem::remove_all(dir);
}

TEST(ReferencedObjects, FindsEveryReference) {
    const auto pod = pods::parse_manifests(
        "metadata: {name: p, namespace: ns}\nspec:\n  volumes:\n  - {name: a, configMap: {name: cm1}}\n"
        "  - {name: b, secret: {secretName: s1}}\n  - name: c\n    projected: {sources: [{configMap: {name: cm2}}, {secret: {name: s2}}]}\n"
        "  containers:\n  - name: x\n    env: [{name: E, valueFrom: {secretKeyRef: {name: s3, key: k}}}]\n"
        "    envFrom: [{configMapRef: {name: cm3}}]\n").at(0).as_object();
    const auto refs = kube::references_of(pod);
    std::set<std::string> names;
    for (const auto &r : refs) names.insert(r.kind + "/" + r.ns + "/" + r.name);
    EXPECT_EQ(names, (std::set<std::string>{"configmaps/ns/cm1", "configmaps/ns/cm2", "configmaps/ns/cm3",
                                            "secrets/ns/s1", "secrets/ns/s2", "secrets/ns/s3"}));
}
