#include <openssl/evp.h>

#include <stdexcept>
#include <string>

#include "kube/kubeconfig.h"

namespace systemk::kube {

std::string base64_decode(const std::string &text) {
    std::string clean;
    for (char c : text)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean += c;
    if (clean.size() % 4 != 0) throw std::invalid_argument("invalid base64 length");
    std::string out(clean.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                                  reinterpret_cast<const unsigned char *>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0) throw std::invalid_argument("invalid base64");
    size_t len = static_cast<size_t>(n);
    // EVP_DecodeBlock counts padding as output bytes.
    if (!clean.empty() && clean.back() == '=') --len;
    if (clean.size() > 1 && clean[clean.size() - 2] == '=') --len;
    out.resize(len);
    return out;
}

std::string base64_encode(const std::string &bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                                  reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

}  // namespace systemk::kube
