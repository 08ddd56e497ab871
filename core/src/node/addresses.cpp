#include "node/addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace systemk::node {
namespace {

bool parse_v4(const std::string &ip, uint32_t &out) {
    in_addr a{};
    if (inet_pton(AF_INET, ip.c_str(), &a) != 1) return false;
    out = ntohl(a.s_addr);
    return true;
}

bool parse_v6(const std::string &ip, std::array<unsigned char, 16> &out) {
    in6_addr a{};
    if (inet_pton(AF_INET6, ip.c_str(), &a) != 1) return false;
    std::memcpy(out.data(), &a, 16);
    return true;
}

}  // namespace

bool is_private_address(const std::string &ip) {
    uint32_t v4 = 0;
    if (parse_v4(ip, v4))
        return (v4 >> 24) == 10 || (v4 >> 20) == ((172u << 4) | 1u) || (v4 >> 16) == ((192u << 8) | 168u);
    std::array<unsigned char, 16> v6{};
    if (parse_v6(ip, v6)) return (v6[0] & 0xfe) == 0xfc;
    return false;
}

bool is_usable_address(const std::string &ip) {
    uint32_t v4 = 0;
    if (parse_v4(ip, v4)) return v4 != 0 && (v4 >> 24) != 127 && (v4 >> 16) != ((169u << 8) | 254u);
    std::array<unsigned char, 16> v6{};
    if (!parse_v6(ip, v6)) return false;
    static const std::array<unsigned char, 16> zero{};
    std::array<unsigned char, 16> loopback{};
    loopback[15] = 1;
    if (v6 == zero || v6 == loopback) return false;
    return !(v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80);  // fe80::/10
}

std::vector<InterfaceAddress> host_interface_addresses() {
    std::vector<InterfaceAddress> out;
    ifaddrs *list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (auto *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr, buf, sizeof buf);
        else if (i->ifa_addr->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(i->ifa_addr)->sin6_addr, buf, sizeof buf);
        else
            continue;
        out.push_back({i->ifa_name, buf});
    }
    freeifaddrs(list);
    return out;
}

NodeAddresses choose_addresses(const std::vector<InterfaceAddress> &candidates, const AddressOptions &options) {
    auto pick = [&](const std::string &iface, bool want_private) -> std::string {
        for (const auto &c : candidates) {
            if (!iface.empty() && c.interface != iface) continue;
            if (!is_usable_address(c.ip)) continue;
            if (is_private_address(c.ip) == want_private) return c.ip;
        }
        return {};
    };
    NodeAddresses a;
    a.internal_ip = !options.internal_ip.empty() ? options.internal_ip : pick(options.internal_iface, true);
    a.external_ip = !options.external_ip.empty() ? options.external_ip : pick(options.external_iface, false);
    if (a.internal_ip.empty()) a.internal_ip = a.external_ip;
    if (a.external_ip.empty()) a.external_ip = a.internal_ip;
    if (a.internal_ip.empty())
        throw AddressError("no usable node address: found no private or public address on " +
                           (options.internal_iface.empty() ? std::string("any interface") : options.internal_iface) +
                           "; pass --node-ip (and --node-external-ip)");
    return a;
}

}  // namespace systemk::node
