#pragma once
// Kubernetes' $(VAR) references in env values, command and args: "$(NAME)" becomes the value
// of an earlier variable, "$$" a literal "$", an unknown "$(NAME)" stays as written.
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace systemk::pods {

std::string expand_references(std::string_view input, const std::map<std::string, std::string> &vars);

// Whether `input` refers to any defined variable named in `names` (a value built from a
// secret is as secret as the secret).
bool references_any(std::string_view input, const std::map<std::string, std::string> &vars,
                    const std::set<std::string> &names);

// For command and args: the same expansion, but in systemd's ExecStart= syntax. References to
// `deferred` variables (secret-derived: their values must not be written into the unit file)
// become ${NAME} for systemd to expand when it starts the process; every other '$' is doubled.
// Sets `uses_deferred` when the result holds such a reference.
std::string expand_references_for_exec(std::string_view input, const std::map<std::string, std::string> &vars,
                                       const std::set<std::string> &deferred, bool &uses_deferred);

}  // namespace systemk::pods
