// Image pulls are reported (Events Pulling/Pulled, a waiting message) exactly when the
// resolver's dry run says the real call will download or install something.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "pods/pod_preparation.h"
#include "pods/spec_error.h"
#include "pods/yaml_to_json.h"

using namespace systemk;

TEST(PullReport, OnlyImagesThatArePulledAreReported) {
    plugins::PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(std::filesystem::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / "ok" / "fixture-ok.so", {}));
    const auto pod = pods::parse_manifests(
                         "kind: Pod\nmetadata: {name: p, namespace: ns, uid: u}\nspec:\n  containers:\n"
                         "  - {name: a, image: 'fixture:absent'}\n  - {name: b, image: 'fixture:here'}\n")
                         .at(0)
                         .as_object();
    std::vector<std::string> seen;
    pods::PullReporter report;
    report.pulling = [&](const std::string &c, const std::string &m) { seen.push_back("pulling " + c + ": " + m); };
    report.pulled = [&](const std::string &c, const std::string &m) { seen.push_back("pulled " + c + ": " + m); };
    const auto images = pods::resolve_images(pod, registry, false, report);
    EXPECT_EQ(images.size(), 2u);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], "pulling a: Pulling image \"fixture:absent\": installing package absent 1.0");
    EXPECT_EQ(seen[1].rfind("pulled a: Successfully pulled image \"fixture:absent\" in ", 0), 0u) << seen[1];
    // A dry run (render) reports nothing.
    seen.clear();
    EXPECT_THROW(pods::resolve_images(pod, registry, true, report), pods::SpecError);  // see below
    EXPECT_TRUE(seen.empty());
}

TEST(PullReport, ADeferredPullChangesNothingAndSaysSo) {
    plugins::PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(std::filesystem::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / "ok" / "fixture-ok.so", {}));
    auto pod_with = [](const std::string &image) {
        return pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: u}\nspec:\n  containers:\n"
                                     "  - {name: a, image: '" + image + "'}\n")
            .at(0)
            .as_object();
    };
    int reported = 0;
    pods::PullReporter report;
    report.defer = true;
    report.pulling = [&](const std::string &, const std::string &) { ++reported; };
    EXPECT_THROW(pods::resolve_images(pod_with("fixture:absent"), registry, false, report), pods::PullDeferred);
    EXPECT_EQ(reported, 0);
    // Nothing to pull: resolved right there.
    EXPECT_EQ(pods::resolve_images(pod_with("fixture:here"), registry, false, report).size(), 1u);
}

TEST(PullReport, ADryRunSaysWhatWouldBeInstalled) {
    plugins::PluginRegistry registry;
    ASSERT_TRUE(registry.load_file(std::filesystem::path(SYSTEMK_FIXTURE_PLUGIN_DIR) / "ok" / "fixture-ok.so", {}));
    const auto pod = pods::parse_manifests("kind: Pod\nmetadata: {name: p, namespace: ns, uid: u}\nspec:\n  containers:\n"
                                           "  - {name: a, image: 'fixture:absent'}\n")
                         .at(0)
                         .as_object();
    try {
        pods::resolve_images(pod, registry, true);
        FAIL() << "no error";
    } catch (const pods::SpecError &e) {
        EXPECT_EQ(std::string(e.what()), "spec.containers[0].image: package absent 1.0 would be installed; its service unit is "
                                         "known once it is (a dry run installs nothing)");
    }
}
