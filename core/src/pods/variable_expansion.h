#pragma once
// Kubernetes' $(VAR) references in env values, command and args: "$(NAME)" becomes the value
// of an earlier variable, "$$" a literal "$", an unknown "$(NAME)" stays as written.
#include <map>
#include <string>
#include <string_view>

namespace systemk::pods {

std::string expand_references(std::string_view input, const std::map<std::string, std::string> &vars);

}  // namespace systemk::pods
