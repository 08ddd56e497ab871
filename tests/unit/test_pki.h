#pragma once
// A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace systemk::testing {

// Writes ca.crt, ca.key, srv.crt, srv.key into dir. Returns false if openssl failed.
inline bool make_test_pki(const std::filesystem::path &dir) {
    std::filesystem::create_directories(dir);
    const std::string cmd =
        "cd " + dir.string() +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=test-ca -days 1 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null"
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext"
        " && openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out srv.crt 2>/dev/null";
    return std::system(cmd.c_str()) == 0;
}

}  // namespace systemk::testing
