#pragma once
// GET /containerLogs/{namespace}/{pod}/{container}: the container's own output from the journal,
// for exactly the pod with this name now (by UID), streamed as chunks; with follow it keeps
// streaming until the client goes away or limitBytes is reached.
#include <map>
#include <string>

#include "server/http_types.h"
#include "server/node_view.h"

namespace systemk::server {

// Answers the request (also with 400/404/503 and a message). Returns whether the connection
// may serve another request.
asio::awaitable<bool> serve_container_logs(TlsStream &stream, const Request &req, const NodeView &node,
                                           const std::string &ns, const std::string &pod, const std::string &container,
                                           const std::map<std::string, std::string> &query);

}  // namespace systemk::server
