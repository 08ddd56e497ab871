#pragma once
// Command-line parsing shared by the subcommands: "--name value", "--name=value", "-f value",
// repeated flags, and boolean switches.
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace systemk::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct OptionSpec {
    std::string name;                  // "--node-ip"
    std::vector<std::string> aliases;  // "--internal-ip", "-f"
    bool takes_value = true;
    std::string help;
};

class Options {
public:
    // Throws UsageError for unknown options or missing values.
    Options(const std::vector<OptionSpec> &specs, const std::vector<std::string> &args);
    std::optional<std::string> get(const std::string &name) const;
    std::string get_or(const std::string &name, const std::string &fallback) const;
    std::vector<std::string> all(const std::string &name) const;
    bool flag(const std::string &name) const;
    const std::vector<std::string> &positional() const { return positional_; }

private:
    std::map<std::string, std::vector<std::string>> values_;
    std::set<std::string> flags_;
    std::vector<std::string> positional_;
};

std::string format_help(const std::vector<OptionSpec> &specs);

}  // namespace systemk::cli
