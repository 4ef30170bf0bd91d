// MetricsServer: accept loop (poll with a 100 ms tick so stop() is prompt) -> read the request
// head -> answer -> close. Sequential by design: a scrape takes well under a millisecond.
#include "metrics_server.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

namespace opsrl::cli {

namespace {

constexpr std::size_t kMaxRequestHead = 16 * 1024;
constexpr int kIoTimeoutSeconds = 2;

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client went away or timed out: nothing more to do for it
    sent += static_cast<std::size_t>(n);
  }
}

std::string response(int status, const char* reason, const std::string& content_type, const std::string& body, bool head,
                     const std::string& extra = "") {
  std::string r = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n", status,
                              reason, content_type, body.size(), extra);
  if (!head) r += body;
  return r;
}

}  // namespace

MetricsServer::MetricsServer(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    throw std::runtime_error(fmt::format("--serve-metrics \"{}\": expected ADDR:PORT, e.g. 127.0.0.1:9464", address));
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) > 65535)
    throw std::runtime_error(fmt::format("--serve-metrics \"{}\": port \"{}\" is not a number in 0..65535", address, port));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error(fmt::format("--serve-metrics \"{}\": cannot resolve \"{}\": {}", address, host, ::gai_strerror(rc)));
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw std::runtime_error(fmt::format("--serve-metrics \"{}\": cannot listen: {}", address, why));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  char text[INET6_ADDRSTRLEN] = {};
  if (bound.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&bound);
    port_ = ntohs(a6->sin6_port);
    ::inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    host_ = fmt::format("[{}]", text);
  } else {
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(&bound);
    port_ = ntohs(a4->sin_port);
    ::inet_ntop(AF_INET, &a4->sin_addr, text, sizeof text);
    host_ = text;
  }
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::publish(std::string body) {
  const std::lock_guard<std::mutex> lock(mutex_);
  body_ = std::move(body);
  published_ = true;
}

void MetricsServer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void MetricsServer::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready <= 0) continue;  // tick (or EINTR): check stopping_
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{kIoTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    answer(fd);
    ::close(fd);
  }
}

void MetricsServer::answer(int fd) {
  // Read the request head (request line + headers); a body, if any, is ignored.
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
    if (head.size() > kMaxRequestHead) {
      send_all(fd,
               response(431, "Request Header Fields Too Large", "text/plain; charset=utf-8", "request head too large\n", false));
      return;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or timed out before a full head
    head.append(buf, static_cast<std::size_t>(n));
  }
  ++requests_;
  const std::string line = head.substr(0, head.find_first_of("\r\n"));
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    send_all(fd, response(400, "Bad Request", "text/plain; charset=utf-8", "malformed request line\n", false));
    return;
  }
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  const bool head_only = method == "HEAD";
  if (target != "/metrics") {
    send_all(fd, response(404, "Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n", head_only));
    return;
  }
  if (method != "GET" && !head_only) {
    send_all(fd, response(405, "Method Not Allowed", "text/plain; charset=utf-8", "only GET and HEAD\n", false,
                          "Allow: GET, HEAD\r\n"));
    return;
  }
  std::string body;
  bool ready = false;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    body = body_;
    ready = published_;
  }
  if (!ready) {
    send_all(fd, response(503, "Service Unavailable", "text/plain; charset=utf-8", "no scrape yet\n", head_only));
    return;
  }
  send_all(fd, response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head_only));
}

}  // namespace opsrl::cli
