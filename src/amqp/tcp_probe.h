// What a plain TCP connect to a host and port says, for error messages: the libraries that talk to
// a broker (rabbitmq-c, cpp-httplib) say "a socket error occurred" or "Connection", and an admin
// needs "connect to mq1:5672: Connection refused".
#pragma once

#include <string>

namespace lmover {

// 0 when a connect succeeds now, else its errno (within 2 s; ETIMEDOUT past that; EHOSTUNREACH
// when the name does not resolve).
int connect_errno(const std::string& host, int port);

}  // namespace lmover
