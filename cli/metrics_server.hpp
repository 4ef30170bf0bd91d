#pragma once
// A small HTTP/1.1 server for a Prometheus scrape target: GET (or HEAD) /metrics answers the
// latest published body as "text/plain; version=0.0.4"; any other path is 404, any other
// method 405. One thread accepts and answers connections one at a time (concurrent scrapes
// queue in the listen backlog and are served in turn), each with a 2 s I/O time-out and
// "Connection: close". POSIX sockets only.
//
//   MetricsServer server("127.0.0.1:9464");   // binds and listens now (throws on failure)
//   server.publish(format_exposition(c));     // what the next scrape gets; 503 before any
//   server.stop();                            // also done by the destructor
#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace opsrl::cli {

class MetricsServer {
 public:
  // ADDR:PORT, e.g. "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464", "localhost:0" (port 0:
  // any free port, see port()). Throws std::runtime_error naming the address on failure.
  explicit MetricsServer(const std::string& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Replaces the body served on /metrics (thread-safe).
  void publish(std::string body);
  // Stops accepting, finishes the connection in progress, joins the thread. Idempotent.
  void stop();

  int port() const { return port_; }  // the bound port
  const std::string& host() const { return host_; }
  long long requests() const { return requests_.load(); }

 private:
  void serve();
  void answer(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::string host_;
  std::mutex mutex_;
  std::string body_;
  bool published_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<long long> requests_{0};
  std::thread thread_;
};

}  // namespace opsrl::cli
