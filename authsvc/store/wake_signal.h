#pragma once
// A flag one thread raises and another waits on, as a file descriptor
// (Linux's eventfd): the watcher's thread sleeps in poll() on its database
// connection's socket and on this at once, so that stop() ends a wait at
// once instead of after its timeout, and so that the store needs no lock of
// its own (only the waiting thread ever touches the connection).

#include <chrono>

namespace authsvc {

class WakeSignal {
 public:
  // Throws std::system_error if the kernel gives no eventfd.
  WakeSignal();
  ~WakeSignal();
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;

  // From any thread; stays raised until clear().
  void raise() noexcept;
  void clear() noexcept;
  // Readable (POLLIN) while raised: for a poll() over other descriptors too.
  int fd() const { return fd_; }
  // Until raised, or `timeout`; whether it is raised.
  bool wait_for(std::chrono::milliseconds timeout) const;

 private:
  int fd_ = -1;
};

// poll()s `fds` (each for POLLIN) until one is readable or `timeout` has
// passed, going on after a signal (EINTR). Returns the index of the first
// readable one (POLLHUP and POLLERR count: the reader finds out why), or -1
// on timeout. Throws std::system_error if poll() fails otherwise.
int wait_readable(const int* fds, int count, std::chrono::milliseconds timeout);

}  // namespace authsvc
