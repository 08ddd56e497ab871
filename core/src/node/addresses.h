#pragma once
// The node's InternalIP and ExternalIP: given by flags, else detected from the interfaces —
// first private (RFC 1918 / IPv6 ULA) address for internal, first public one for external; if
// only one is found it serves as both; none at all is an error.
#include <stdexcept>
#include <string>
#include <vector>

namespace systemk::node {

struct InterfaceAddress {
    std::string interface;
    std::string ip;
};

struct AddressOptions {
    std::string internal_ip, external_ip;        // explicit (--node-ip, --node-external-ip)
    std::string internal_iface, external_iface;  // restrict detection to one interface
};

struct NodeAddresses {
    std::string internal_ip, external_ip;
};

class AddressError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

bool is_private_address(const std::string &ip);   // RFC 1918, RFC 4193
bool is_usable_address(const std::string &ip);    // not loopback, link-local or unspecified
std::vector<InterfaceAddress> host_interface_addresses();
NodeAddresses choose_addresses(const std::vector<InterfaceAddress> &candidates, const AddressOptions &options);

}  // namespace systemk::node
