#include <gtest/gtest.h>

#include "pods/environment.h"
#include "pods/quantity.h"
#include "pods/spec_error.h"
#include "pods/variable_expansion.h"
#include "pods/yaml_to_json.h"

using namespace systemk::pods;

namespace {

class FakeLookup : public ObjectLookup {
public:
    bool online() const override { return true; }
    std::optional<Data> config_map(const std::string &, const std::string &name) const override {
        if (name == "cm") return Data{{"key", "from-cm"}, {"bad.name", "skipped"}, {"OTHER", "o"}};
        return std::nullopt;
    }
    std::optional<Data> secret(const std::string &, const std::string &name) const override {
        if (name == "s") return Data{{"password", "hunter2"}};
        return std::nullopt;
    }
};

Environment resolve(const std::string &container_yaml, const ObjectLookup &lookup) {
    const auto pod = parse_manifests(
        "kind: Pod\nmetadata: {name: p, namespace: ns, uid: u1, labels: {app: web}, annotations: {a.b/c: d}}\n"
        "spec: {serviceAccountName: sa}\n").at(0).as_object();
    const auto container = parse_manifests(container_yaml).at(0).as_object();
    NodeContext node;
    node.node_name = "node1";
    node.internal_ip = "10.1.2.3";
    return resolve_environment(pod, container, "spec.containers[0]", node, lookup);
}

std::map<std::string, std::string> as_map(const Environment &e) { return {e.vars.begin(), e.vars.end()}; }

}  // namespace

TEST(Expansion, FollowsKubernetesRules) {
    const std::map<std::string, std::string> vars{{"A", "1"}};
    EXPECT_EQ(expand_references("$(A)-$(B)-$$(A)-$$-$x", vars), "1-$(B)-$(A)-$-$x");
}

TEST(Expansion, ForExecDefersSecretReferencesAndDoublesDollars) {
    const std::map<std::string, std::string> vars{{"A", "1$"}, {"TOKEN", "s3cret"}};
    bool deferred = false;
    EXPECT_EQ(expand_references_for_exec("$(A)-$$-$(B)", vars, {"TOKEN"}, deferred), "1$$-$$-$$(B)");
    EXPECT_FALSE(deferred);
    EXPECT_EQ(expand_references_for_exec("--token=$(TOKEN)", vars, {"TOKEN"}, deferred), "--token=${TOKEN}");
    EXPECT_TRUE(deferred);
    EXPECT_TRUE(references_any("x$(TOKEN)", vars, {"TOKEN"}));
    EXPECT_FALSE(references_any("x$$(TOKEN)", vars, {"TOKEN"}));
}

TEST(Quantity, ParsesSuffixesExactly) {
    EXPECT_EQ(parse_quantity_scaled("500m", 3), 500);
    EXPECT_EQ(parse_quantity_scaled("0.5", 3), 500);
    EXPECT_EQ(parse_quantity_scaled("1.5", 0), 2);  // rounded up, as Kubernetes does
    EXPECT_EQ(parse_quantity_scaled("128Mi", 0), 134217728);
    EXPECT_EQ(parse_quantity_scaled("1e3", 0), 1000);
    EXPECT_EQ(parse_quantity_scaled("1E-3", 3), 1);
    EXPECT_EQ(parse_quantity_scaled("1k", 0), 1000);
    EXPECT_EQ(parse_quantity_scaled("+2Gi", 0), 2147483648);
    EXPECT_EQ(parse_quantity_scaled("0.1m", 3), 1);
    EXPECT_EQ(parse_quantity_scaled("0", 3), 0);
    EXPECT_EQ(parse_quantity_scaled("7Ei", 0), 7LL << 60);
}

TEST(Quantity, RefusesMalformedNegativeAndHuge) {
    for (const char *bad : {"12x", "", "-1", "1e30", "1e", "1e99999", "8Ei", "1Ei1", "..5", "1.2.3", "m",
                            "99999999999999999999999", "1e18k"})
        EXPECT_FALSE(parse_quantity_scaled(bad, 0)) << bad;
    EXPECT_FALSE(parse_quantity_scaled("10P", 3));  // fits in bytes, not in milli-units
    EXPECT_FALSE(parse_quantity_scaled(std::string(100, '9'), 0));
    EXPECT_EQ(parse_quantity_scaled("0.00000000000000000000000000000000000000000000000001", 0), 1);
}

TEST(Environment, ResolvesReferencesInKubeletOrder) {
    FakeLookup lookup;
    const auto env = resolve(
        "name: c\nenvFrom:\n- configMapRef: {name: cm}\n  prefix: CM_\n"
        "env:\n- {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"
        "- {name: LABEL, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}\n"
        "- {name: ANNOTATION, valueFrom: {fieldRef: {fieldPath: \"metadata.annotations['a.b/c']\"}}}\n"
        "- {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n"
        "- {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}\n"
        "- {name: KEY, valueFrom: {configMapKeyRef: {name: cm, key: key}}}\n"
        "- {name: PASS, valueFrom: {secretKeyRef: {name: s, key: password}}}\n"
        "- {name: COMBINED, value: '$(NAME)@$(IP)'}\n",
        lookup);
    const auto m = as_map(env);
    EXPECT_EQ(m.at("CM_key"), "from-cm");
    EXPECT_EQ(m.at("CM_OTHER"), "o");
    EXPECT_FALSE(m.contains("CM_bad.name"));
    EXPECT_EQ(env.warnings.size(), 1u);
    EXPECT_EQ(m.at("NAME"), "p");
    EXPECT_EQ(m.at("LABEL"), "web");
    EXPECT_EQ(m.at("ANNOTATION"), "d");
    EXPECT_EQ(m.at("IP"), "10.1.2.3");
    EXPECT_EQ(m.at("SA"), "sa");
    EXPECT_EQ(m.at("KEY"), "from-cm");
    EXPECT_EQ(m.at("PASS"), "hunter2");
    EXPECT_EQ(m.at("COMBINED"), "p@10.1.2.3");
    EXPECT_EQ(m.at("HOSTNAME"), "p");
}

TEST(Environment, MissingMandatoryKeyIsACreateContainerConfigError) {
    FakeLookup lookup;
    try {
        resolve("name: c\nenv:\n- {name: K, valueFrom: {configMapKeyRef: {name: cm, key: nope}}}\n", lookup);
        FAIL();
    } catch (const SpecError &e) {
        EXPECT_EQ(e.reason(), "CreateContainerConfigError");
        EXPECT_EQ(e.field(), "spec.containers[0].env[0].valueFrom.configMapKeyRef");
        EXPECT_NE(std::string(e.what()).find("key 'nope' not found in configMap 'cm'"), std::string::npos);
    }
    const auto env = resolve("name: c\nenv:\n- {name: K, valueFrom: {secretKeyRef: {name: gone, key: k, optional: true}}}\n", lookup);
    EXPECT_FALSE(as_map(env).contains("K"));
}

TEST(Yaml, ScalarsFollowTheCoreSchema) {
    const auto v = parse_manifests("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: text\n").at(0).as_object();
    EXPECT_TRUE(v.at("a").is_int64());
    EXPECT_TRUE(v.at("b").is_string());
    EXPECT_TRUE(v.at("c").is_bool());
    EXPECT_TRUE(v.at("d").is_null());
    EXPECT_TRUE(v.at("e").is_double());
    EXPECT_TRUE(v.at("f").is_string());
    EXPECT_THROW(parse_manifests("a: [unclosed"), std::runtime_error);
}

TEST(Expansion, AnUnclosedReferenceStaysLiteral) {
    const std::string value = "$(" + std::string(5000, 'A') + "$(B)";
    EXPECT_EQ(expand_references(value, {{"B", "b"}}), "$(" + std::string(5000, 'A') + "b");
}
