#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "util/logging.h"

#ifndef SYSTEMK_VERSION
#define SYSTEMK_VERSION "0.0.0"
#endif

namespace {

const char *kUsage =
    "Usage: systemk [--log-level LEVEL] COMMAND [options]\n"
    "\n"
    "Runs Kubernetes pods as systemd services.\n"
    "\n"
    "Commands:\n"
    "  run        join the cluster as a node (the agent); also what flags without a command mean\n"
    "  join       obtain the node's certificate with a bootstrap token, then run\n"
    "  render     print the systemd units for a pod manifest (no cluster needed)\n"
    "  plugins    list the image-resolver and volume plugins that load\n"
    "  version    print the version\n"
    "\n"
    "Run 'systemk COMMAND --help' for a command's options.\n";

}  // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string level = "info";
    while (!args.empty() && args[0].starts_with("--log-level")) {
        if (args[0] == "--log-level" && args.size() > 1) {
            level = args[1];
            args.erase(args.begin(), args.begin() + 2);
        } else if (args[0].starts_with("--log-level=")) {
            level = args[0].substr(12);
            args.erase(args.begin());
        } else {
            break;
        }
    }
    try {
        systemk::util::setup_logging(level);
    } catch (const std::exception &e) {
        std::cerr << "systemk: " << e.what() << "\n";
        return 2;
    }
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    // The original systemk took its flags without a command: `systemk --kubeconfig … ` still runs.
    const bool implicit_run = args[0].starts_with("-") && args[0] != "--version";
    const auto command = implicit_run ? std::string("run") : args[0];
    if (!implicit_run) args.erase(args.begin());
    try {
        if (command == "run") return systemk::cli::run_command(args);
        if (command == "join") return systemk::cli::join_command(args);
        if (command == "render") return systemk::cli::render_command(args);
        if (command == "plugins") return systemk::cli::plugins_command(args);
        if (command == "version" || command == "--version") {
            std::cout << "systemk " << SYSTEMK_VERSION << "\n";
            return 0;
        }
        std::cerr << "systemk: unknown command '" << command << "'\n" << kUsage;
        return 2;
    } catch (const systemk::cli::UsageError &e) {
        std::cerr << "systemk " << command << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception &e) {
        spdlog::error("{}: {}", command, e.what());
        return 1;
    }
}
