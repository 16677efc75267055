// AMQP load generator for tests/bench/amqp_bench.py: the workload whose rate
// the broker's auth backend decides. Not a test; prints one JSON line.
//
//   amqp_load --port P --users FILE [--host 127.0.0.1] [--seconds 10]
//             [--workers 8] [--publishers 2] [--messages 3]
//             [--publish-rate 200] [--publish-batch 10] [--distinct-keys] [--setup]
//
// FILE holds "NAME TOKEN" lines (what `authsvc user import` prints).
//
// Workers loop over short sessions, the traffic that costs the auth backend
// the most (every new connection is a user and a vhost call, every new
// channel asks afresh about each resource): connect and log in, declare
// exchange/<user>/bench and queue/<user>/bench, bind the queue to its own
// exchange and to another user's (the Pulse policy allows reading others'
// exchanges), publish --messages persistent JSON messages with confirms, get
// them back, close. The other user is always the same one for a given user
// (the next in the file), as a real consumer binds to the same exchanges each
// time it reconnects; a random one each time would make every session ask
// questions no cache has seen. Each worker owns a disjoint slice of the
// users, so no two sessions of one user overlap (the queue is exclusive).
//
// Publishers (the last --publishers users) stay connected and publish with
// confirms at --publish-rate messages a second each (0: as fast as they can).
// The rate is capped by default so that they are the same background load
// whichever backend is measured, instead of taking whatever CPU the sessions
// leave them.
//
// --setup declares every user's exchange once, so that binding to another
// user's exchange cannot fail with 404 because that user has not run yet.
//
// Every failure (a refused login, a channel closed with 403, a timeout, a
// message that did not come back) is counted and reported by kind: an
// authorization failure must show up as an error, never as a fast session.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr amqp_channel_t kChannel = 1;

struct Options {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string users_file;
  double seconds = 10;
  int workers = 8;
  int publishers = 2;
  int messages = 3;
  double publish_rate = 200;
  int publish_batch = 10;
  bool distinct_keys = false;
  bool setup = false;
};

struct User {
  std::string name;
  std::string token;
};

// A failed AMQP step. `kind` groups failures for the report (the step and
// the broker's reply code and name, or the library's error), `what()` is
// the full message of one of them.
class AmqpError : public std::runtime_error {
 public:
  AmqpError(const std::string& step, const std::string& detail, const std::string& full)
      : std::runtime_error(step + ": " + full), kind_(step + ": " + detail) {}
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

std::string to_string(amqp_bytes_t b) { return {static_cast<const char*>(b.bytes), b.len}; }

// The broker's close reason: "403 ACCESS_REFUSED - access to exchange ...".
// The part before " - " names the kind without user or resource names.
AmqpError server_error(const std::string& step, uint16_t code, amqp_bytes_t text) {
  std::string full = std::to_string(code) + " " + to_string(text);
  return AmqpError(step, full.substr(0, full.find(" - ")), full);
}

AmqpError reply_error(const std::string& step, const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      break;
    case AMQP_RESPONSE_NONE:
      return AmqpError(step, "no reply", "no reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: {
      std::string e = amqp_error_string2(r.library_error);
      return AmqpError(step, e, e);
    }
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return server_error(step + " (connection closed)", m->reply_code, m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return server_error(step + " (channel closed)", m->reply_code, m->reply_text);
      }
      return AmqpError(step, "unexpected method",
                       "unexpected method " + std::to_string(r.reply.id));
  }
  return AmqpError(step, "bug", "reply_error called on a normal reply");
}

void check(const amqp_rpc_reply_t& r, const char* step) {
  if (r.reply_type != AMQP_RESPONSE_NORMAL) throw reply_error(step, r);
}

void check_rpc(amqp_connection_state_t c, const char* step) { check(amqp_get_rpc_reply(c), step); }

// One AMQP connection with channel 1 open. Destroying it without close()
// drops the socket, which is what a failed session should do anyway.
class Connection {
 public:
  Connection(const Options& o, const User& u) : c_(amqp_new_connection()) {
    if (!c_) throw AmqpError("connect", "out of memory", "amqp_new_connection failed");
    amqp_socket_t* socket = amqp_tcp_socket_new(c_.get());
    if (socket == nullptr)
      throw AmqpError("connect", "out of memory", "amqp_tcp_socket_new failed");
    // Without a bound, a broker that stops answering would hang the run
    // instead of failing it.
    timeval rpc_timeout{15, 0};
    amqp_set_rpc_timeout(c_.get(), &rpc_timeout);
    timeval connect_timeout{5, 0};
    int rc = amqp_socket_open_noblock(socket, o.host.c_str(), o.port, &connect_timeout);
    if (rc != AMQP_STATUS_OK) {
      std::string e = amqp_error_string2(rc);
      throw AmqpError("connect", e, e);
    }
    check(amqp_login(c_.get(), "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, u.name.c_str(),
                     u.token.c_str()),
          "login");
    amqp_channel_open(c_.get(), kChannel);
    check_rpc(c_.get(), "channel.open");
  }

  amqp_connection_state_t get() const { return c_.get(); }

  void close() { check(amqp_connection_close(c_.get(), AMQP_REPLY_SUCCESS), "connection.close"); }

 private:
  struct Destroy {
    void operator()(amqp_connection_state_t c) const { amqp_destroy_connection(c); }
  };
  std::unique_ptr<amqp_connection_state_t_, Destroy> c_;
};

void declare_exchange(amqp_connection_state_t c, const std::string& name) {
  amqp_exchange_declare(c, kChannel, amqp_cstring_bytes(name.c_str()), amqp_cstring_bytes("topic"),
                        /*passive=*/0, /*durable=*/1, /*auto_delete=*/0, /*internal=*/0,
                        amqp_empty_table);
  check_rpc(c, "exchange.declare");
}

// Publishes with confirms. Delivery tags count from 1 per channel.
class ConfirmingPublisher {
 public:
  explicit ConfirmingPublisher(amqp_connection_state_t c) : c_(c) {
    amqp_confirm_select(c_, kChannel);
    check_rpc(c_, "confirm.select");
  }

  void publish(const std::string& exchange, const std::string& key, const std::string& body) {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;  // persistent, as Pulse publishers send
    amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};
    int rc = amqp_basic_publish(c_, kChannel, amqp_cstring_bytes(exchange.c_str()),
                                amqp_cstring_bytes(key.c_str()), /*mandatory=*/0,
                                /*immediate=*/0, &props, payload);
    if (rc != AMQP_STATUS_OK) {
      std::string e = amqp_error_string2(rc);
      throw AmqpError("basic.publish", e, e);
    }
    unconfirmed_.insert(++last_tag_);
  }

  // Waits until the broker confirmed everything published so far. A refused
  // publish arrives here: the broker closes the channel (403) instead.
  void wait_confirms() {
    while (!unconfirmed_.empty()) {
      amqp_frame_t frame;
      timeval timeout{15, 0};
      int rc = amqp_simple_wait_frame_noblock(c_, &frame, &timeout);
      if (rc != AMQP_STATUS_OK) {
        std::string e = amqp_error_string2(rc);
        throw AmqpError("confirm wait", e, e);
      }
      if (frame.frame_type != AMQP_FRAME_METHOD) continue;
      const amqp_method_t& m = frame.payload.method;
      switch (m.id) {
        case AMQP_BASIC_ACK_METHOD: {
          auto* ack = static_cast<amqp_basic_ack_t*>(m.decoded);
          settle(ack->delivery_tag, ack->multiple != 0);
          break;
        }
        case AMQP_BASIC_NACK_METHOD:
          throw AmqpError("confirm wait", "nack", "the broker nacked a message");
        case AMQP_CHANNEL_CLOSE_METHOD: {
          auto* close = static_cast<amqp_channel_close_t*>(m.decoded);
          throw server_error("basic.publish (channel closed)", close->reply_code,
                             close->reply_text);
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          auto* close = static_cast<amqp_connection_close_t*>(m.decoded);
          throw server_error("basic.publish (connection closed)", close->reply_code,
                             close->reply_text);
        }
        default:
          break;
      }
    }
    amqp_maybe_release_buffers(c_);
  }

 private:
  void settle(uint64_t tag, bool multiple) {
    if (multiple) {
      unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(tag));
    } else {
      unconfirmed_.erase(tag);
    }
  }

  amqp_connection_state_t c_;
  uint64_t last_tag_ = 0;
  std::set<uint64_t> unconfirmed_;  // confirms may come out of order
};

struct ErrorKind {
  uint64_t count = 0;
  std::string example;
};

// Per thread; merged at the end, so the hot loop shares nothing.
struct Stats {
  uint64_t sessions = 0;
  uint64_t session_confirmed = 0;
  uint64_t session_consumed = 0;
  uint64_t publisher_confirmed = 0;
  std::vector<double> session_ms;
  std::map<std::string, ErrorKind> errors;

  void error(const AmqpError& e) {
    ErrorKind& k = errors[e.kind()];
    if (k.count++ == 0) k.example = e.what();
  }

  void merge(const Stats& o) {
    sessions += o.sessions;
    session_confirmed += o.session_confirmed;
    session_consumed += o.session_consumed;
    publisher_confirmed += o.publisher_confirmed;
    session_ms.insert(session_ms.end(), o.session_ms.begin(), o.session_ms.end());
    for (const auto& [kind, k] : o.errors) {
      ErrorKind& mine = errors[kind];
      if (mine.count == 0) mine.example = k.example;
      mine.count += k.count;
    }
  }
};

std::string exchange_of(const User& u) { return "exchange/" + u.name + "/bench"; }
std::string queue_of(const User& u) { return "queue/" + u.name + "/bench"; }

void setup_session(const Options& o, const User& u) {
  Connection c(o, u);
  declare_exchange(c.get(), exchange_of(u));
  c.close();
}

void short_session(const Options& o, const User& u, const User& other, uint64_t serial, Stats& s) {
  Connection c(o, u);
  amqp_connection_state_t h = c.get();
  const std::string exchange = exchange_of(u);
  const std::string queue = queue_of(u);
  declare_exchange(h, exchange);

  // Exclusive: the broker deletes it, and its bindings, when the session
  // closes, so every session starts from the same state.
  amqp_queue_declare(h, kChannel, amqp_cstring_bytes(queue.c_str()), /*passive=*/0,
                     /*durable=*/0, /*exclusive=*/1, /*auto_delete=*/0, amqp_empty_table);
  check_rpc(h, "queue.declare");
  amqp_queue_bind(h, kChannel, amqp_cstring_bytes(queue.c_str()),
                  amqp_cstring_bytes(exchange.c_str()), amqp_cstring_bytes("bench.#"),
                  amqp_empty_table);
  check_rpc(h, "queue.bind (own exchange)");
  const std::string other_exchange = exchange_of(other);
  amqp_queue_bind(h, kChannel, amqp_cstring_bytes(queue.c_str()),
                  amqp_cstring_bytes(other_exchange.c_str()), amqp_cstring_bytes("bench.#"),
                  amqp_empty_table);
  check_rpc(h, "queue.bind (other's exchange)");

  ConfirmingPublisher pub(h);
  const std::string key = "bench." + u.name;
  for (int i = 0; i < o.messages; ++i) {
    pub.publish(exchange, key,
                "{\"user\":\"" + u.name + "\",\"session\":" + std::to_string(serial) +
                    ",\"seq\":" + std::to_string(i) +
                    ",\"payload\":{\"kind\":\"task-completed\",\"result\":\"success\"}}");
  }
  pub.wait_confirms();
  s.session_confirmed += static_cast<uint64_t>(o.messages);

  // Confirmed means enqueued, so every message must be there now (messages
  // the other user published meanwhile, through the second binding, may come
  // first; they count the same).
  for (int got = 0; got < o.messages; ++got) {
    amqp_rpc_reply_t r = amqp_basic_get(h, kChannel, amqp_cstring_bytes(queue.c_str()),
                                        /*no_ack=*/1);
    check(r, "basic.get");
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) {
      throw AmqpError("basic.get", "queue empty before every confirmed message came back",
                      "queue empty after " + std::to_string(got) + " of " +
                          std::to_string(o.messages) + " messages");
    }
    amqp_message_t message;
    check(amqp_read_message(h, kChannel, &message, 0), "basic.get (read message)");
    amqp_destroy_message(&message);
    ++s.session_consumed;
    amqp_maybe_release_buffers(h);
  }
  c.close();
}

void worker(const Options& o, const std::vector<User>& users, std::vector<std::size_t> mine,
            Clock::time_point deadline, Stats& s) {
  if (o.setup) {
    for (std::size_t i : mine) {
      try {
        setup_session(o, users[i]);
        ++s.sessions;
      } catch (const AmqpError& e) {
        s.error(e);
      }
    }
    return;
  }
  uint64_t serial = 0;
  for (std::size_t next = 0; Clock::now() < deadline; next = (next + 1) % mine.size()) {
    const std::size_t me = mine[next];
    const std::size_t other = (me + 1) % users.size();
    auto start = Clock::now();
    try {
      short_session(o, users[me], users[other], serial++, s);
      ++s.sessions;
      s.session_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    } catch (const AmqpError& e) {
      s.error(e);
    }
  }
}

void publisher(const Options& o, const User& u, Clock::time_point deadline, Stats& s) {
  const std::string exchange = exchange_of(u);
  const std::string stream_key = "bench." + u.name + ".stream";
  std::string key = stream_key;
  uint64_t keys = 0;
  const std::string body = "{\"user\":\"" + u.name + "\",\"kind\":\"stream\"}";
  // Reconnects after a failure, so one error does not silence a publisher
  // for the rest of the run (each failure is still counted).
  while (Clock::now() < deadline) {
    try {
      Connection c(o, u);
      declare_exchange(c.get(), exchange);
      ConfirmingPublisher pub(c.get());
      auto start = Clock::now();
      uint64_t sent = 0;
      while (Clock::now() < deadline) {
        for (int i = 0; i < o.publish_batch; ++i) {
          // Never among the last 12 the broker's channel cached: one topic
          // check, one auth backend call, per message.
          if (o.distinct_keys) key = "bench." + u.name + "." + std::to_string(++keys) + ".stream";
          pub.publish(exchange, key, body);
        }
        pub.wait_confirms();
        sent += static_cast<uint64_t>(o.publish_batch);
        s.publisher_confirmed += static_cast<uint64_t>(o.publish_batch);
        if (o.publish_rate > 0) {
          auto due = start +
                     std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(sent) / o.publish_rate));
          std::this_thread::sleep_until(std::min(due, deadline));
        }
      }
      c.close();
      return;
    } catch (const AmqpError& e) {
      s.error(e);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::vector<User> read_users(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::vector<User> users;
  User u;
  while (in >> u.name >> u.token) users.push_back(u);
  return users;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double seconds_of(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"AMQP load generator for tests/bench/amqp_bench.py"};
  app.add_option("--host", o.host, "broker address");
  app.add_option("--port", o.port, "broker AMQP port")->required();
  app.add_option("--users", o.users_file, "file of \"NAME TOKEN\" lines")->required();
  app.add_option("--seconds", o.seconds, "duration");
  app.add_option("--workers", o.workers, "threads running short sessions (0: publishers only)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--publishers", o.publishers, "long-lived publishers (the last users)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--messages", o.messages, "messages each short session publishes and gets")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--publish-rate", o.publish_rate, "messages/s per publisher, 0 unlimited")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--publish-batch", o.publish_batch, "publisher messages per confirm wait")
      ->check(CLI::PositiveNumber);
  app.add_flag("--distinct-keys", o.distinct_keys,
               "a routing key of its own for each publisher message (bench.USER.N.stream), as "
               "Pulse's varied keys make the broker ask about the topic per message");
  app.add_flag("--setup", o.setup, "declare each user's exchange once, then exit");
  CLI11_PARSE(app, argc, argv);

  // A socket the broker closed must fail the session, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<User> users;
  try {
    users = read_users(o.users_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "amqp_load: %s\n", e.what());
    return 1;
  }
  const std::size_t publishers = o.setup ? 0 : static_cast<std::size_t>(o.publishers);
  const auto workers = static_cast<std::size_t>(o.workers);
  if (users.size() < publishers + workers) {
    std::fprintf(stderr, "amqp_load: %zu users, need at least %zu (workers + publishers)\n",
                 users.size(), publishers + workers);
    return 2;
  }

  // Worker i runs the users i, i + workers, ... of those not publishing.
  const std::size_t session_users = users.size() - publishers;
  std::vector<std::vector<std::size_t>> slices(workers);
  if (workers > 0) {
    for (std::size_t i = 0; i < session_users; ++i) slices[i % workers].push_back(i);
  }

  std::vector<Stats> stats(workers + publishers);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto deadline = o.setup ? Clock::time_point::max()
                                : start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(o.seconds));
  for (std::size_t i = 0; i < workers; ++i) {
    threads.emplace_back(worker, std::cref(o), std::cref(users), slices[i], deadline,
                         std::ref(stats[i]));
  }
  for (std::size_t i = 0; i < publishers; ++i) {
    threads.emplace_back(publisher, std::cref(o), std::cref(users[session_users + i]), deadline,
                         std::ref(stats[workers + i]));
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Stats total;
  for (const auto& s : stats) total.merge(s);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  uint64_t errors = 0;
  nlohmann::json kinds = nlohmann::json::object();
  for (const auto& [kind, k] : total.errors) {
    errors += k.count;
    kinds[kind] = {{"count", k.count}, {"example", k.example}};
  }
  nlohmann::json out = {
      {"mode", o.setup ? "setup" : "load"},
      {"elapsed_s", elapsed},
      {"workers", workers},
      {"publishers", publishers},
      {"messages_per_session", o.messages},
      {"sessions", total.sessions},
      {"sessions_per_s", static_cast<double>(total.sessions) / elapsed},
      {"session_ms",
       {{"p50", percentile(total.session_ms, 0.50)},
        {"p90", percentile(total.session_ms, 0.90)},
        {"p99", percentile(total.session_ms, 0.99)}}},
      {"session_messages_confirmed", total.session_confirmed},
      {"session_messages_consumed", total.session_consumed},
      {"publisher_messages_confirmed", total.publisher_confirmed},
      {"publisher_messages_per_s", static_cast<double>(total.publisher_confirmed) / elapsed},
      {"errors", errors},
      {"error_kinds", kinds},
      {"cpu_user_s", seconds_of(usage.ru_utime)},
      {"cpu_sys_s", seconds_of(usage.ru_stime)},
  };
  std::puts(out.dump().c_str());
  return 0;
}
