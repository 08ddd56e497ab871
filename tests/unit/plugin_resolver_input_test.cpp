// Hostile images through the real resolver plugins and the host: a 60 000-byte image (which
// once overflowed the stack in a resolver's std::regex), NUL, newlines and other odd bytes must
// give a clean refusal, never a crash.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "plugins/image_name.h"
#include "plugins/plugin_loader.h"
#include "pods/pod_preparation.h"
#include "pods/spec_error.h"

using namespace systemk::plugins;

namespace {

const std::string kHuge(60000, 'a');

std::vector<std::string> hostile_images() {
    return {
        kHuge,
        "a:" + std::string(60000, '1'),
        "/" + kHuge,
        "https://host/" + kHuge + "_1.0_amd64.deb",
        "https://host/" + std::string(60000, '/') + "x_1_amd64.deb",
        "https://" + std::string(60000, '_') + ".deb",
        std::string(4096, 'a'),
        std::string(kMaxImageLength + 1, 'a'),
        std::string("/bin/sh\0--evil", 14),
        std::string("nginx\0", 6),
        std::string("\0", 1),
        "nginx\nExecStartPre=/bin/sh",
        "/bin/sh\n",
        "https://host/x_1_amd64.deb\n",
        "https://host /x_1_amd64.deb",
        "https://.deb",
        "https://host/.deb",
        "https://host/__.deb",
        "\t",
        " ",
        "\x7f",
        "\xff\xfe\xfd",
        "n\xc3\xa4me",
        "name:",
        ":",
        ":1.0",
        "-name",
        "",
    };
}

std::string show(const std::string &image) {
    return image.size() > 40 ? image.substr(0, 40) + "...(" + std::to_string(image.size()) + " bytes)" : image;
}

class ResolverInputTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        registry_.load_directory(SYSTEMK_PLUGIN_DIR, {});
        for (const auto &p : registry_.plugins())
            if (p->name() == GetParam()) plugin_ = p.get();
        ASSERT_NE(plugin_, nullptr) << GetParam() << " did not load";
    }
    PluginRegistry registry_;
    const Plugin *plugin_ = nullptr;
};

}  // namespace

TEST_P(ResolverInputTest, HostileImagesAreRefusedCleanly) {
    for (const auto &image : hostile_images()) {
        SCOPED_TRACE(show(image));
        const int score = plugin_->claim(image);
        EXPECT_GE(score, 0);
        if (image.size() > kMaxImageLength) {
            EXPECT_EQ(score, 0) << "a plugin claims an overlong image";
        }
        try {
            const auto result = plugin_->resolve(boost::json::object{{"image", image}, {"dryRun", true}});
            ADD_FAILURE() << "resolved: " << boost::json::serialize(result);
        } catch (const PluginCallError &e) {
            const std::string message = e.what();
            EXPECT_NE(e.status(), SYSTEMK_OK);
            EXPECT_FALSE(message.empty());
            EXPECT_EQ(message.find('\n'), std::string::npos) << message;
            EXPECT_EQ(message.find('\0'), std::string::npos);
            EXPECT_LE(message.size(), kMaxImageLength + 512);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Resolvers, ResolverInputTest, ::testing::Values("pkg-apt", "pkg-url", "pkg-rpm", "pkg-path"));

TEST(ImageName, BoundsLengthAndRefusesControlCharacters) {
    EXPECT_EQ(image_name_problem("nginx:1.22"), std::nullopt);
    EXPECT_EQ(image_name_problem("/usr/bin/env"), std::nullopt);
    EXPECT_EQ(image_name_problem(std::string(kMaxImageLength, 'a')), std::nullopt);
    EXPECT_EQ(image_name_problem(std::string(kMaxImageLength + 1, 'a')), "is 4097 bytes long; the limit is 4096");
    EXPECT_EQ(image_name_problem(kHuge), "is 60000 bytes long; the limit is 4096");
    EXPECT_EQ(image_name_problem(""), "must not be empty");
    EXPECT_EQ(image_name_problem(std::string("a\0b", 3)), "contains the control character 0x00 at byte 1");
    EXPECT_EQ(image_name_problem("nginx\n"), "contains the control character 0x0a at byte 5");
    EXPECT_EQ(image_name_problem("a\x7f"), "contains the control character 0x7f at byte 1");
    EXPECT_EQ(image_name_problem("n\xc3\xa4me"), std::nullopt);  // UTF-8 is the resolvers' business
}

TEST(ImageName, HostAsksNoPluginAboutARefusedImage) {
    PluginRegistry registry;
    registry.load_directory(SYSTEMK_PLUGIN_DIR, {});
    ASSERT_NE(registry.resolver_for("/bin/sh"), nullptr);
    EXPECT_EQ(registry.resolver_for("/" + kHuge), nullptr);
    EXPECT_EQ(registry.resolver_for(std::string("/bin/sh\0x", 9)), nullptr);
    EXPECT_EQ(registry.resolver_for("/bin/sh\n"), nullptr);
}

TEST(ImageName, PodWithAHugeImageGetsInvalidImageName) {
    PluginRegistry registry;
    registry.load_directory(SYSTEMK_PLUGIN_DIR, {});
    for (const auto &image : {kHuge, "/" + kHuge, std::string("/bin/sh\0x", 9), std::string("nginx\nx")}) {
        SCOPED_TRACE(show(image));
        const boost::json::object pod{
            {"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "u"}}},
            {"spec", {{"containers", boost::json::array{boost::json::object{{"name", "c"}, {"image", image}}}}}}};
        try {
            systemk::pods::resolve_images(pod, registry, true);
            FAIL() << "resolved";
        } catch (const systemk::pods::SpecError &e) {
            EXPECT_EQ(e.field(), "spec.containers[0].image");
            EXPECT_EQ(e.reason(), "InvalidImageName");
            EXPECT_LT(std::string(e.what()).size(), 200u) << "the error repeats the image";
        }
    }
}
